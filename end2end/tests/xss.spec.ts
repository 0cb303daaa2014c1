import { test, expect, Page } from "./fixtures";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PASSWORD, asAdmin, hydrated, logInWithPassword, signUp, synthMp3, textFile, toLibrary, uniqueEmail } from "./helpers";

// Stored XSS through tags (matrix row 20), in the hydrated client: a file whose title,
// artist, album, comment and lyrics hold markup is uploaded; every page that shows it
// (library, album, artist, search, playlist, the admin dashboard and its import desk)
// shows the markup as text. No dialog opens, no element the tags describe exists in the
// page, and no script they carry ran. The server-rendered half is
// server/tests/http.rs::hostile_tags_are_text_on_every_page.

/** Fails the test on any dialog (an `alert` the tags smuggled in). */
function noDialogs(page: Page): string[] {
  const seen: string[] = [];
  page.on("dialog", async (d) => {
    seen.push(`${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  return seen;
}

/** Elements the hostile tags would create if they were parsed as markup. */
async function injected(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    for (const el of Array.from(document.querySelectorAll("img[src='x'], svg[onload], iframe, b.xss, [onerror], [onload]"))) {
      found.push(el.outerHTML.slice(0, 120));
    }
    for (const s of Array.from(document.querySelectorAll("script"))) {
      if ((s.textContent ?? "").includes("__xss")) found.push(s.outerHTML.slice(0, 120));
    }
    if ((window as unknown as { __xss?: number }).__xss) found.push("window.__xss was set");
    return found;
  });
}

async function clean(page: Page, dialogs: string[], where: string) {
  await hydrated(page);
  expect(await injected(page), `injected nodes on ${where}`).toEqual([]);
  expect(dialogs, `dialogs on ${where}`).toEqual([]);
}

test("markup in tags and names is text on every page of the hydrated client", async ({ page }) => {
  const dialogs = noDialogs(page);
  await asAdmin(page);
  const tag = `${Date.now()}`;
  const word = `zephyr${tag}`;
  const title = `<img src=x onerror=alert(1)>${word}`;
  const artist = `<script>window.__xss=1;alert(2)</script>Band ${tag}`;
  const album = `"><svg onload=alert(3)>Album ${tag}`;
  const made = synthMp3(`hostile-${tag}.mp3`, {
    title,
    artist,
    album_artist: artist,
    album,
    comment: "<iframe src=javascript:alert(4)>",
    lyrics: "<script>alert(6)</script>la la",
  }, 4);
  // The file's own name carries markup too (the import list and desk show it).
  const name = `<b class=xss onmouseover=alert(5)>${tag}.mp3`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-xss-"));
  const file = path.join(dir, name);
  fs.copyFileSync(made, file);

  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles([file]);
  const job = page.locator("li.import", { hasText: `${tag}.mp3` });
  await expect(job).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  await expect(job).toContainText(name);
  await clean(page, dialogs, "the library's import list");

  // The library: the row shows the title as text.
  await page.reload();
  const row = page.locator(".track-row", { hasText: word });
  await expect(row).toBeVisible();
  await expect(row).toContainText(title);
  await expect(row).toContainText(artist);
  await clean(page, dialogs, "the library");
  // Hovering and opening its menu renders more of it (labels, menu items).
  await row.hover();
  await page.getByLabel(`More for ${title}`).first().click();
  await clean(page, dialogs, "the track menu");
  await page.keyboard.press("Escape");

  // Search, server-rendered then hydrated, and typed.
  await page.goto(`/search?q=${encodeURIComponent(word)}`);
  await expect(page.locator(".track-row", { hasText: word })).toContainText(title);
  await clean(page, dialogs, "search");

  // The album and artist pages, reached by their links.
  await page.locator(".track-row", { hasText: word }).getByRole("link", { name: album }).first().click();
  await expect(page.getByTestId("album-title")).toHaveText(album);
  await clean(page, dialogs, "the album page");
  await page.getByRole("link", { name: artist }).first().click();
  await expect(page.getByTestId("artist-name")).toHaveText(artist);
  await clean(page, dialogs, "the artist page");

  // Playing it: the player bar and Now Playing show its tags; lyrics too.
  await page.goto("/library");
  await hydrated(page);
  const again = page.locator(".track-row", { hasText: word });
  await again.hover();
  await page.getByRole("button", { name: `Play ${title}` }).click();
  await expect(page.getByTestId("np-title")).toHaveText(title);
  await clean(page, dialogs, "the player bar");

  // A playlist with markup in its name, holding the track.
  await page.getByTestId("new-playlist").click();
  await hydrated(page);
  const listName = `<img src=x onerror=alert(7)>List ${tag}`;
  await page.getByTestId("edit-playlist").click();
  await page.getByTestId("playlist-name-input").fill(listName);
  await page.getByTestId("save-playlist").click();
  await expect(page.getByTestId("playlist-name")).toHaveText(listName);
  const playlistUrl = page.url();
  await page.getByRole("link", { name: "Library", exact: true }).click();
  await hydrated(page);
  await page.getByLabel(`More for ${title}`).first().click();
  const added = page.waitForResponse((r) => r.url().includes("/api/add_to_playlist") && r.ok());
  await page.getByRole("menuitem", { name: listName }).click();
  await added;
  await page.goto(playlistUrl);
  await expect(page.getByTestId("playlist-tracks")).toContainText(title);
  await expect(page.getByTestId("sidebar-playlists")).toContainText(listName);
  await clean(page, dialogs, "the playlist page");

  // The admin dashboard and its import desk.
  await page.getByRole("link", { name: "Admin" }).click();
  await hydrated(page);
  const desk = page.getByTestId("import-desk");
  await desk.getByRole("button", { name: /^All \d+$/ }).click();
  await expect(desk.locator(".desk-row", { hasText: `${tag}.mp3` }).first()).toContainText(name);
  await clean(page, dialogs, "the admin dashboard");
});

test("names a user types are text, a hostile user agent is never shown raw, an SVG cover is refused", async ({ page, browser }) => {
  const dialogs = noDialogs(page);
  const email = uniqueEmail("xss-names");
  await signUp(page, email);
  const tag = `${Date.now()}`;

  // An app key named with markup.
  await page.getByRole("link", { name: "Settings" }).click();
  await hydrated(page);
  const section = page.getByTestId("app-keys");
  await section.getByText("Connect an app").click();
  const keyName = `<img src=x onerror=alert(8)>Phone ${tag}`;
  await section.getByLabel("Name (the app or device)").fill(keyName);
  await section.getByLabel("Your password").fill(PASSWORD);
  await section.getByRole("button", { name: "Make key" }).click();
  await expect(section.getByTestId("app-key-list")).toContainText(keyName);
  await clean(page, dialogs, "the app keys list");

  // A second browser signs in with markup in its user agent: the sessions list names its
  // device ("Firefox on Linux"), never the raw string.
  const other = await browser.newContext({
    userAgent: `<script>window.__xss=1;alert(9)</script>Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0`,
  });
  const otherPage = await other.newPage();
  await otherPage.goto("/login");
  await hydrated(otherPage);
  await logInWithPassword(otherPage, email);
  await expect(otherPage.getByRole("heading", { name: "Home" })).toBeVisible();
  await other.close();
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("sessions")).toContainText("Firefox on Linux");
  await expect(page.getByTestId("sessions")).not.toContainText("<script>");
  await clean(page, dialogs, "the sessions list");

  // An SVG carrying a script, offered as an album cover: refused with a reason, and no SVG
  // reaches the page.
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles([
    synthMp3(`svg-${tag}.mp3`, { title: `Vector ${tag}`, artist: `Drawers ${tag}`, album: `Shapes ${tag}` }, 3),
  ]);
  const row = page.locator(".track-row", { hasText: `Vector ${tag}` });
  await expect(row).toBeVisible({ timeout: 60_000 });
  await row.getByRole("link", { name: `Shapes ${tag}` }).click();
  await expect(page.getByTestId("album-title")).toHaveText(`Shapes ${tag}`);
  await page.getByTestId("edit-album").click();
  await hydrated(page);
  const svg = textFile(
    `cover-${tag}.svg`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600" onload="alert(10)"><script>window.__xss=1</script><rect width="600" height="600" fill="red"/></svg>`,
  );
  await page.getByTestId("cover-input").setInputFiles(svg);
  await expect(page.getByRole("alert")).toBeVisible();
  await clean(page, dialogs, "the album editor after an SVG cover");
  expect(await page.locator("img[src$='.svg'], object, embed").count()).toBe(0);
});

import { test, expect, Page } from "./fixtures";
import * as path from "node:path";
import { asAdmin, hydrated, signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

function rows(page: Page) {
  return page.getByTestId("playlist-tracks").locator(".track-title");
}

async function addToPlaylist(page: Page, title: string, playlist: string) {
  await page.getByLabel(`More for ${title}`).first().click();
  const done = page.waitForResponse((r) => r.url().includes("/api/add_to_playlist") && r.ok());
  await page.getByRole("menuitem", { name: playlist }).click();
  await done;
}

test("build a playlist, reorder it, keep the order over a reload, share it read-only", async ({ page, browser }) => {
  // An admin's uploads are shared, so a second listener can play the playlist's songs.
  await asAdmin(page);
  const tag = `${Date.now()}`;
  const titles = ["Ember", "Frost", "Gale"].map((t) => `${t} ${tag}`);
  const files = titles.map((t, i) => synthMp3(`pl-${i}-${tag}.mp3`, { title: t, artist: `Listers ${tag}` }, 20));
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(files);
  for (const f of files) {
    await expect(page.locator("li.import", { hasText: path.basename(f) })).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  }

  await page.getByTestId("new-playlist").click();
  await expect(page.getByTestId("playlist-name")).toHaveText(/My Playlist #\d+/);
  await expect(page.getByTestId("playlist-empty")).toBeVisible();
  await hydrated(page);
  // Rename it and make it public.
  const name = `Weather ${tag}`;
  await page.getByTestId("edit-playlist").click();
  await page.getByTestId("playlist-name-input").fill(name);
  await page.getByTestId("playlist-public").selectOption("true");
  await page.getByTestId("save-playlist").click();
  await expect(page.getByTestId("playlist-name")).toHaveText(name);
  await expect(page.getByTestId("sidebar-playlists")).toContainText(name);
  const playlistUrl = page.url();

  // Add the three songs from the library.
  await page.getByRole("link", { name: "Library", exact: true }).click();
  for (const t of titles) await addToPlaylist(page, t, name);
  await page.getByTestId("sidebar-playlists").getByRole("link", { name }).click();
  await expect(rows(page)).toHaveText(titles);

  // Reorder: Gale up (button), then drag Ember onto the last place.
  let moved = page.waitForResponse((r) => r.url().includes("/api/move_in_playlist") && r.ok());
  await page.getByRole("button", { name: `Move ${titles[2]} up` }).click();
  await moved;
  await expect(rows(page)).toHaveText([titles[0], titles[2], titles[1]]);
  moved = page.waitForResponse((r) => r.url().includes("/api/move_in_playlist") && r.ok());
  const r = page.getByTestId("playlist-row");
  await r.nth(0).dragTo(r.nth(2));
  await moved;
  await expect(rows(page)).toHaveText([titles[2], titles[1], titles[0]]);

  await page.reload();
  await expect(rows(page)).toHaveText([titles[2], titles[1], titles[0]]);
  await expect(page.getByTestId("share-link")).toHaveValue(playlistUrl);

  // Another listener opens the link: plays it, cannot edit, can save a copy.
  const other = await browser.newPage();
  await signUp(other, uniqueEmail("guest"));
  await other.goto(playlistUrl);
  await expect(other.getByTestId("playlist-name")).toHaveText(name);
  await expect(rows(other)).toHaveText([titles[2], titles[1], titles[0]]);
  await expect(other.getByTestId("edit-playlist")).toHaveCount(0);
  await expect(other.getByTestId("delete-playlist")).toHaveCount(0);
  await expect(other.getByRole("button", { name: /^Move / })).toHaveCount(0);
  await hydrated(other);
  await other.getByTestId("play-playlist").click();
  await expect(other.getByTestId("np-title")).toHaveText(titles[2]);
  await other.getByTestId("copy-playlist").click();
  await expect(other.getByTestId("edit-playlist")).toBeVisible();
  await expect(other.getByTestId("playlist-name")).toHaveText(name);
  expect(other.url()).not.toBe(playlistUrl);
  await expect(rows(other)).toHaveText([titles[2], titles[1], titles[0]]);
  await other.close();

  // Search finds the public playlist by a prefix of its name.
  await page.goto(`/search?q=weath ${tag}`);
  await expect(page.getByTestId("playlist-grid")).toContainText(name);
});

test("a track dragged from the library onto a playlist in the sidebar is added to it", async ({ page }) => {
  await signUp(page, uniqueEmail("dragadd"));
  const title = `Driftwood ${Date.now()}`;
  const file = synthMp3(`drag-${Date.now()}.mp3`, { title, artist: "Draggers" }, 3);
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles([file]);
  await expect(page.locator("li.import", { hasText: path.basename(file) })).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  await page.getByTestId("new-playlist").click();
  await expect(page.getByTestId("playlist-empty")).toBeVisible();
  const name = (await page.getByTestId("playlist-name").textContent())!;

  await page.getByRole("link", { name: "Library", exact: true }).click();
  await hydrated(page);
  const added = page.waitForResponse((r) => r.url().includes("/api/add_to_playlist") && r.ok());
  await page.locator(".track-row", { hasText: title }).dragTo(
    page.getByTestId("sidebar-playlists").getByRole("link", { name }));
  await added;
  await expect(page.getByTestId("drop-note")).toHaveText("Added to the playlist.");
  await page.getByTestId("sidebar-playlists").getByRole("link", { name }).click();
  await expect(rows(page)).toHaveText([title]);
});

import { test, expect, Page, Locator } from "./fixtures";
import { asAdmin, hydrated, letters, signUp, synthMp3, uniqueEmail } from "./helpers";

// A 360-pixel-wide phone with a touch screen.
test.use({ viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true });

/** How far the page, or the main view (which scrolls on its own), reaches past the screen's
 * right edge. */
async function overflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const doc = document.documentElement;
    const main = document.querySelector("main.main");
    const wide = (e: Element) => e.scrollWidth - e.clientWidth;
    return Math.max(wide(doc), doc.scrollWidth - window.innerWidth, main ? wide(main) : 0);
  });
}

/** Every visible one of `targets` is at least 44 by 44 CSS pixels (a fingertip). */
async function fingerSized(targets: Locator) {
  const n = await targets.count();
  expect(n).toBeGreaterThan(0);
  for (let i = 0; i < n; i++) {
    const t = targets.nth(i);
    if (!(await t.isVisible())) continue;
    const box = (await t.boundingBox())!;
    const name = (await t.getAttribute("aria-label")) ?? (await t.textContent());
    expect(box.width, `width of ${name}`).toBeGreaterThanOrEqual(44);
    expect(box.height, `height of ${name}`).toBeGreaterThanOrEqual(44);
  }
}

async function fits(page: Page, url: string) {
  await page.goto(url);
  await hydrated(page);
  expect(await overflow(page), `${url} scrolls sideways`).toBeLessThanOrEqual(0);
  const name = url.replace(/[^a-z0-9]+/gi, "_") || "home";
  await page.screenshot({ path: `test-results/phone/${name}.png` });
}

test("the signed-out pages fit a phone", async ({ page }) => {
  for (const url of ["/login", "/signup", "/forgot-password", "/reset-password", "/verify-email", "/confirm-email", "/offline"]) {
    await fits(page, url);
  }
});

test("on a phone: tabs along the bottom, a mini player, a full-screen Now Playing, and no page scrolls sideways", async ({ page }) => {
  const tag = letters(6);
  const album = `An Album Title Long Enough To Wrap On A Phone ${tag}`;
  const title = `A Song Title That Goes On And On Without End ${tag}`;
  await signUp(page, uniqueEmail("phone"));

  // The tabs replace the sidebar's list; each is big enough for a finger.
  const tabs = page.getByRole("navigation", { name: "Tabs" });
  await expect(tabs).toBeVisible();
  await expect(tabs.getByRole("link")).toHaveText(["Home", "Search", "Library", "Playlists", "Settings"]);
  await fingerSized(tabs.getByRole("link"));
  // Nothing is playing yet: no player takes room.
  await expect(page.getByTestId("np-open")).toHaveCount(0);

  await tabs.getByRole("link", { name: "Library" }).click();
  await expect(page.getByRole("heading", { name: "Library" })).toBeVisible();
  await expect(tabs.getByRole("link", { name: "Library" })).toHaveAttribute("aria-current", "page");
  await hydrated(page);
  await page.getByTestId("upload-input").setInputFiles([
    synthMp3("phone-1.mp3", { title, artist: `Pocket ${tag}`, album, track: "1" }, 6),
    synthMp3("phone-2.mp3", { title: `Second ${tag}`, artist: `Pocket ${tag}`, album, track: "2" }, 6),
  ]);
  const row = page.locator(".track-row", { hasText: title });
  await expect(row).toBeVisible({ timeout: 60_000 });
  await expect(page.locator(".track-row", { hasText: `Second ${tag}` })).toBeVisible({ timeout: 60_000 });
  // Both imports finished and folded away (which moves the list up), and the list
  // reloaded with both, so it no longer changes under the finger.
  await expect(page.locator("li.import[data-state=done]")).toHaveCount(2, { timeout: 60_000 });
  await expect(page.locator("details.imports")).not.toHaveAttribute("open", "");
  // Sorted by title, so something comes after this song whatever else the catalog holds.
  await page.goto("/library?sort=title&order=asc");
  await expect(row).toBeVisible();
  await hydrated(page);
  await fingerSized(row.locator("button:visible, summary:visible"));
  const trackId = await row.getAttribute("data-track");
  // The album column is hidden on a phone; its link is still in the row.
  const albumUrl = await row.locator(".col-album a").getAttribute("href");

  // A tap on the row plays it (no double tap on a touch screen); the mini player shows it.
  // (Scrolled up clear of the tabs first, as a thumb would.)
  await row.evaluate((e) => e.scrollIntoView({ block: "center" }));
  await row.locator(".track-title").tap();
  const mini = page.locator("footer.player-bar");
  await expect(page.getByTestId("np-title")).toHaveText(title);
  await expect(mini).toBeVisible();
  await expect(mini.locator(".np-artist")).toHaveText(`Pocket ${tag}`);
  await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 0);
  await fingerSized(mini.locator("button:visible"));
  // It sits above the tabs, and neither covers the other.
  const [m, t] = [(await mini.boundingBox())!, (await tabs.boundingBox())!];
  expect(m.y + m.height).toBeLessThanOrEqual(t.y + 1);
  expect(t.y + t.height).toBeLessThanOrEqual(740 + 1);
  await page.screenshot({ path: "test-results/phone/mini-player.png" });

  // Now Playing: the whole screen, large cover, seek bar, controls and what comes next.
  await page.getByTestId("np-open").tap();
  const big = page.getByTestId("np-big");
  await expect(big).toBeVisible();
  const cover = (await big.boundingBox())!;
  expect(cover.width).toBeGreaterThan(250);
  await expect(page.getByTestId("seek")).toBeVisible();
  await expect(page.getByTestId("next")).toBeVisible();
  // (What comes next is the library list after this row: other tests' shared tracks too.)
  const upNext = page.getByTestId("np-next-up").getByRole("button");
  await expect(upNext.first()).toBeVisible();
  const nextTitle = (await upNext.first().locator(".track-title").textContent())!;
  await fingerSized(mini.locator(".transport button"));
  const full = (await mini.boundingBox())!;
  expect(full.width).toBeGreaterThanOrEqual(359);
  expect(full.height).toBeGreaterThanOrEqual(739);
  await page.screenshot({ path: "test-results/phone/now-playing.png" });
  // A tap on a track that comes next plays it; the chevron closes the view.
  await upNext.first().tap();
  await expect(page.getByTestId("np-title")).toHaveText(nextTitle);
  await page.getByTestId("np-close").tap();
  await expect(big).toBeHidden();
  await expect(tabs).toBeVisible();

  // A playlist with the song, for its page.
  await tabs.getByRole("link", { name: "Playlists" }).click();
  await expect(page.getByRole("heading", { name: "Your playlists" })).toBeVisible();
  await expect(page.getByTestId("playlists-empty")).toBeVisible();
  await hydrated(page);
  await page.getByTestId("new-playlist-page").click();
  await expect(page.getByTestId("playlist-name")).toHaveText(/My Playlist #1/);
  const playlistUrl = new URL(page.url()).pathname;

  await page.goto(`/search?q=${tag}`);
  await page.getByTestId("artist-grid").getByRole("link").first().click();
  await expect(page.getByTestId("artist-name")).toHaveText(`Pocket ${tag}`);
  const artistUrl = new URL(page.url()).pathname;

  const pages = [
    "/", "/library", "/library?sort=artist&order=asc", "/search", `/search?q=${tag}`, "/liked", "/queue",
    "/playlists", playlistUrl, "/albums", "/artists", artistUrl, "/settings", `/tracks/${trackId}/edit`,
  ];
  pages.push(albumUrl!, `${albumUrl}/edit`, `${artistUrl}/edit`);
  for (const url of pages) {
    await fits(page, url);
    // The mini player stays on every page, with the title.
    await expect(page.getByTestId("np-title")).toHaveText(nextTitle);
    await expect(tabs).toBeVisible();
  }
  await expect(page.getByTestId("np-title")).toBeVisible();
});

test("the admin pages fit a phone too", async ({ page }) => {
  await asAdmin(page);
  await expect(page.getByRole("link", { name: "Admin" })).toBeVisible();
  for (const url of ["/admin", "/settings", "/albums"]) await fits(page, url);
});

import { test, expect, Page } from "./fixtures";
import { hydrated, letters, signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

const row = (page: Page, title: string) => page.locator(".track-row", { hasText: title });

/** Signs up, uploads `files`, waits for their rows and for the service worker to control
 * the page (it answers while offline). */
async function withTracks(page: Page, who: string, files: string[], titles: string[]) {
  await signUp(page, uniqueEmail(who));
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(files);
  for (const t of titles) await expect(row(page, t)).toBeVisible({ timeout: 60_000 });
  await hydrated(page);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

async function download(page: Page) {
  const button = page.getByTestId("download");
  await button.getByRole("button", { name: /^Download$/ }).click();
  await expect(button.locator("[data-state=downloaded]")).toBeVisible({ timeout: 60_000 });
  await expect(button).toContainText(/Downloaded · \d/);
}

/** What the downloads' cache holds: its entries' paths. */
async function stored(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    if (!(await caches.has("refrain-media"))) return [];
    const c = await caches.open("refrain-media");
    return (await c.keys()).map((r) => new URL(r.url).pathname);
  });
}

test("a downloaded album plays offline, after a reload too; an undownloaded song says so; the play counted offline is sent once", async ({ page, context }) => {
  const tag = letters(6);
  const album = `Travel ${tag}`;
  const [one, two, home] = [`Away One ${tag}`, `Away Two ${tag}`, `Stay Home ${tag}`];
  await withTracks(page, "offline", [
    synthMp3("away-1.mp3", { title: one, artist: `Roamer ${tag}`, album, track: "1" }, 6),
    synthMp3("away-2.mp3", { title: two, artist: `Roamer ${tag}`, album, track: "2" }, 6),
    synthMp3("home.mp3", { title: home, artist: `Roamer ${tag}`, album: `Hearth ${tag}` }, 6),
  ], [one, two, home]);

  await row(page, one).locator(".col-album a").click();
  await expect(page.getByTestId("album-title")).toHaveText(album);
  await hydrated(page);
  await download(page);
  // The rows say which tracks are kept; the media is stored by track, never by a URL
  // carrying a stream token.
  await expect(row(page, one).getByRole("img", { name: "Downloaded" })).toBeVisible();
  const keys = await stored(page);
  expect(keys.filter((k) => k.startsWith("/offline/media/"))).toHaveLength(2);
  expect(keys.filter((k) => k.startsWith("/offline/collection/"))).toEqual([expect.stringMatching(/^\/offline\/collection\/album:/)]);
  expect(keys.some((k) => k.includes("stream") || k.includes("t="))).toBe(false);

  // The network goes while the library is open: the song that is not downloaded is
  // dimmed and, played, says it is not available offline.
  await page.goto("/library");
  await hydrated(page);
  await context.setOffline(true);
  await expect(row(page, home)).toHaveClass(/unavailable/);
  await expect(row(page, one)).not.toHaveClass(/unavailable/);
  await row(page, home).locator(".play-btn").click();
  await expect(page.getByRole("alert").filter({ hasText: "not available offline" })).toBeVisible();

  // A reload without the network opens the offline page, which plays the album.
  await page.reload();
  await expect(page).toHaveURL(/\/offline$/);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "You're offline" })).toBeVisible();
  const section = page.locator(".offline-download", { hasText: album });
  await expect(section.locator(".track-title")).toHaveText([one, two]);
  await section.getByRole("button", { name: `Play ${album}` }).click();
  await expect(page.getByTestId("np-title")).toHaveText(one);
  await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 0.5);

  // Half of the six seconds is a play: counted now, kept until the server can be told.
  await page.waitForFunction(() => (localStorage.getItem("refrain.pending-plays") ?? "").includes(" "), null, { timeout: 30_000 });
  const waiting = await page.evaluate(() => localStorage.getItem("refrain.pending-plays")!);
  expect(waiting.split("\n").length).toBeGreaterThanOrEqual(1);

  // Back online: sent, and the list empties; telling it twice more sends nothing again.
  await context.setOffline(false);
  await page.waitForFunction(() => (localStorage.getItem("refrain.pending-plays") ?? "") === "", null, { timeout: 30_000 });
  await page.evaluate(() => { window.dispatchEvent(new Event("online")); window.dispatchEvent(new Event("online")); });
  await page.goto("/library");
  await expect.poll(async () => {
    await page.reload();
    return row(page, one).getByTestId("plays").textContent();
  }, { timeout: 30_000 }).toBe("1");
});

test("logging out wipes the downloads: the cache goes and the storage estimate drops", async ({ page }) => {
  const tag = letters(6);
  const title = `Keep Me ${tag}`;
  await withTracks(page, "wipe", [synthMp3("keep.mp3", { title, artist: `Keeper ${tag}` }, 4)], [title]);
  const liked = page.waitForResponse((r) => r.url().includes("/api/set_liked") && r.ok());
  await row(page, title).getByRole("button", { name: `Like ${title}` }).click();
  await liked;
  await page.goto("/liked");
  await hydrated(page);
  await expect(row(page, title)).toBeVisible();
  await download(page);
  // Settings lists it with its size and the browser's storage estimate.
  await page.goto("/settings");
  const section = page.getByTestId("downloads-settings");
  await expect(section.locator(".download-row")).toContainText(["Liked Songs"]);
  await expect(section.locator(".download-row")).toContainText("1 track");
  await expect(page.getByTestId("storage-estimate")).toContainText("This browser keeps");
  const usage = () => page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
  const before = await usage();
  expect((await stored(page)).filter((k) => k.startsWith("/offline/media/"))).toHaveLength(1);

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  expect(await stored(page)).toEqual([]);
  await expect.poll(usage).toBeLessThan(before);
});

test("a downloaded playlist follows its changes, and removing the download frees its tracks", async ({ page }) => {
  const tag = letters(6);
  const [a, b] = [`Tide A ${tag}`, `Tide B ${tag}`];
  await withTracks(page, "follow", [
    synthMp3("tide-a.mp3", { title: a, artist: `Tides ${tag}` }, 3),
    synthMp3("tide-b.mp3", { title: b, artist: `Tides ${tag}` }, 3),
  ], [a, b]);
  await page.getByTestId("new-playlist").click();
  await expect(page.getByTestId("playlist-name")).toHaveText(/My Playlist/);
  const playlist = new URL(page.url()).pathname;
  await page.goto("/library");
  await hydrated(page);
  const add = async (title: string) => {
    await page.getByLabel(`More for ${title}`).click();
    const done = page.waitForResponse((r) => r.url().includes("/api/add_to_playlist") && r.ok());
    await page.getByRole("menuitem", { name: /My Playlist/ }).click();
    await done;
  };
  await add(a);
  await page.goto(playlist);
  await hydrated(page);
  await download(page);
  await expect(page.getByTestId("download")).toBeVisible();
  expect((await stored(page)).filter((k) => k.startsWith("/offline/media/"))).toHaveLength(1);

  // A song added to the playlist joins its download when the playlist is next opened.
  await page.goto("/library");
  await hydrated(page);
  await add(b);
  await page.goto(playlist);
  await expect(page.getByTestId("playlist-row")).toHaveCount(2);
  await expect.poll(async () => (await stored(page)).filter((k) => k.startsWith("/offline/media/")).length, { timeout: 30_000 }).toBe(2);
  await expect(page.getByTestId("playlist-row").filter({ hasText: b }).getByRole("img", { name: "Downloaded" })).toBeVisible();

  // Removed in Settings: its tracks go with it.
  await page.goto("/settings");
  const section = page.getByTestId("downloads-settings");
  await expect(section.locator(".download-row")).toContainText("2 tracks");
  await section.getByRole("button", { name: /Remove the download of My Playlist/ }).click();
  await expect(page.getByTestId("downloads-empty")).toBeVisible();
  expect(await stored(page)).toEqual([]);
});

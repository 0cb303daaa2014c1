import { test, expect, Page } from "./fixtures";
import { hydrated, letters, signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

async function upload(page: Page, files: string[]) {
  if (new URL(page.url()).pathname !== "/library") await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(files);
  for (const f of files) {
    const name = f.split("/").pop()!;
    await expect(page.locator("li.import", { hasText: name })).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  }
}

async function currentTime(page: Page): Promise<number> {
  return page.getByTestId("audio").evaluate((a: HTMLAudioElement) => a.currentTime);
}

test("search finds a track by a misspelled prefix, and says so when nothing matches", async ({ page }) => {
  const word = `kestrel${letters(5)}`;
  const title = `${word[0].toUpperCase()}${word.slice(1)} Flight`;
  await signUp(page, uniqueEmail("search"));
  await upload(page, [synthMp3(`${word}.mp3`, { title, artist: `Searchers ${letters(4)}` }, 3)]);

  await page.getByRole("link", { name: "Search", exact: true }).click();
  await expect(page).toHaveURL(/\/search$/);
  await expect(page.getByTestId("search-prompt")).toBeVisible();
  const box = page.getByTestId("search-box");
  await expect(box).toBeFocused();
  // "kesterl": two letters swapped, and only a prefix of the word.
  await box.pressSequentially("kesterl");
  await expect(page.locator(".track-row", { hasText: title })).toBeVisible();
  await expect(page).toHaveURL(/\/search\?q=kesterl$/);
  await expect(page.getByRole("heading", { name: "Songs" })).toBeVisible();

  await box.fill(`zq${letters(8)}`);
  await expect(page.getByTestId("search-empty")).toContainText("No results for");

  // The query is in the URL: a reload (server-rendered) shows the same results.
  await page.goto(`/search?q=${encodeURIComponent(word.slice(0, 9).toUpperCase())}`);
  await expect(page.locator(".track-row", { hasText: title })).toBeVisible();
});

test("an album page plays in track order, next follows it, and navigating keeps playing", async ({ page }) => {
  const album = `Orchard ${letters(6)}`;
  const artist = `Grove ${letters(6)}`;
  await signUp(page, uniqueEmail("album"));
  // Uploaded out of order; the album page orders by track number.
  await upload(page, [
    synthMp3("second.mp3", { title: "Second Light", artist, album, track: "2" }, 20),
    synthMp3("first.mp3", { title: "First Light", artist, album, track: "1" }, 20),
  ]);

  const row = page.locator(".track-row", { hasText: "First Light" });
  await row.getByRole("link", { name: album }).click();
  await expect(page.getByTestId("album-title")).toHaveText(album);
  await expect(page.locator(".track-row:not(.head) .track-title")).toHaveText(["First Light", "Second Light"]);
  await expect(page.locator(".hero-text")).toContainText("2 tracks");

  await hydrated(page);
  await page.getByTestId("play-album").click();
  await expect(page.getByTestId("np-title")).toHaveText("First Light");
  await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 0.5);

  // Client-side navigation: the layout (and the audio element) stay; playback goes on.
  await page.getByRole("link", { name: artist }).first().click();
  await expect(page.getByTestId("artist-name")).toHaveText(artist);
  const t1 = await currentTime(page);
  await page.getByRole("link", { name: "Liked Songs" }).click();
  await expect(page.getByRole("heading", { name: "Liked Songs" })).toBeVisible();
  await page.waitForFunction((t) => (document.querySelector("audio") as HTMLAudioElement).currentTime > t + 0.5, t1);
  expect(await page.getByTestId("audio").evaluate((a: HTMLAudioElement) => a.paused)).toBe(false);
  await expect(page.getByTestId("np-title")).toHaveText("First Light");

  await page.getByTestId("next").click();
  await expect(page.getByTestId("np-title")).toHaveText("Second Light");
  await expect(page.getByTestId("next")).toBeDisabled();
  await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 0.5);
});

test("at 360 pixels wide no page scrolls sideways", async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  const album = `A Rather Long Album Title For Small Screens ${letters(6)}`;
  await signUp(page, uniqueEmail("narrow"));
  await upload(page, [synthMp3("narrow.mp3", {
    title: "An Extraordinarily Long Song Title That Must Not Push The Layout Sideways",
    artist: `Narrow ${letters(5)}`, album,
  }, 3)]);
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(await overflow()).toBeLessThanOrEqual(0);
  await page.goto(`/search?q=${encodeURIComponent(album)}`);
  await page.getByTestId("album-grid").getByRole("link").first().click();
  await expect(page.getByTestId("album-title")).toHaveText(album);
  expect(await overflow()).toBeLessThanOrEqual(0);
  for (const url of ["/search?q=extra", "/queue", "/liked", "/settings"]) {
    await page.goto(url);
    await expect(page.locator("main.main")).toBeVisible();
    expect(await overflow(), url).toBeLessThanOrEqual(0);
  }
});

test("the track list sorts by title both ways and keeps the order in the URL; albums and artists have their pages", async ({ page }) => {
  const tag = letters(8);
  const titles = ["Mango", "apple", "Kiwi"].map((t) => `${t} ${tag}`);
  await signUp(page, uniqueEmail("sort"));
  await upload(page, titles.map((t, i) => synthMp3(`sort-${i}.mp3`, { title: t, artist: `Sorter ${tag}`, album: `Fruit ${tag}` }, 2)));
  const mine = () => page.locator(".track-row", { hasText: tag }).locator(".track-title");
  await hydrated(page);
  await page.getByTestId("sort").selectOption("title");
  await expect(page).toHaveURL(/\?sort=title&order=asc$/);
  await expect(mine()).toHaveText([titles[1], titles[2], titles[0]]); // apple, Kiwi, Mango
  await page.getByTestId("sort-order").click();
  await expect(page).toHaveURL(/\?sort=title&order=desc$/);
  await expect(mine()).toHaveText([titles[0], titles[2], titles[1]]);
  await page.reload();
  await expect(mine()).toHaveText([titles[0], titles[2], titles[1]]);
  await expect(page.getByTestId("track-count")).toContainText("songs");

  await page.getByRole("link", { name: "Albums", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Albums" })).toBeVisible();
  await expect(page.getByTestId("album-grid")).toContainText(`Fruit ${tag}`);
  await page.getByRole("link", { name: "Artists", exact: true }).click();
  await expect(page.getByTestId("artist-grid")).toContainText(`Sorter ${tag}`);
  await page.getByTestId("artist-grid").getByRole("link", { name: new RegExp(`Sorter ${tag}`) }).click();
  await expect(page.getByTestId("artist-name")).toHaveText(`Sorter ${tag}`);
});

import { test, expect, Page } from "./fixtures";
import * as path from "node:path";
import { hydrated, letters, signUp, synthFlac, toLibrary, uniqueEmail } from "./helpers";

async function upload(page: Page, files: string[]) {
  if (new URL(page.url()).pathname !== "/library") await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(files);
  for (const f of files) {
    await expect(page.locator("li.import", { hasText: path.basename(f) })).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  }
}

test("an album plays gaplessly: three tracks on one timeline, each in hand before its boundary, no hole at either", async ({ page }) => {
  const album = `Seamless ${letters(6)}`;
  const artist = `Continuum ${letters(6)}`;
  await signUp(page, uniqueEmail("gapless"));
  // Exactly 3 s each (lossless sources), different tones so a gap would be heard.
  await upload(page, [
    synthFlac("one.flac", { title: "Part One", artist, album, track: "1" }, 3, 330),
    synthFlac("two.flac", { title: "Part Two", artist, album, track: "2" }, 3, 440),
    synthFlac("three.flac", { title: "Part Three", artist, album, track: "3" }, 3, 550),
  ]);
  await page.locator(".track-row", { hasText: "Part One" }).getByRole("link", { name: album }).click();
  await expect(page.getByTestId("album-title")).toHaveText(album);
  await hydrated(page);

  // Watch the element from the start: stalls, titles with the media time they changed at,
  // and whether the source ever changes (a new MediaSource would mean a reload).
  await page.evaluate(() => {
    const a = document.querySelector("audio") as HTMLAudioElement;
    const w = window as any;
    w.__gapless = { stalls: [] as { t: number; ahead: number }[], playing: false, titles: [] as [string, number][], srcs: new Set<string>(), times: [] as number[] };
    a.addEventListener("playing", () => { w.__gapless.playing = true; });
    // A stall is noted with how much audio was buffered past the playhead (for the failure
    // message). Whether the element stalls is the browser's pipeline's state: on a loaded
    // machine Chromium underflows with seconds of audio buffered (its decoder starved of
    // CPU), so what the test holds the player to is having the audio there in time.
    a.addEventListener("waiting", () => {
      if (!w.__gapless.playing) return;
      const t = a.currentTime;
      let ahead = 0;
      for (let i = 0; i < a.buffered.length; i++) {
        if (a.buffered.start(i) <= t + 0.05 && a.buffered.end(i) > t) ahead = a.buffered.end(i) - t;
      }
      w.__gapless.stalls.push({ t, ahead });
    });
    a.addEventListener("timeupdate", () => {
      w.__gapless.times.push(a.currentTime);
      if (a.src) w.__gapless.srcs.add(a.src);
    });
    const title = document.querySelector("[data-testid=np-title]");
    // Each title change with the media time it happened at and how far audio was
    // buffered then: the next track must be in hand before its boundary.
    const note = () => {
      const t = document.querySelector("[data-testid=np-title]")?.textContent ?? "";
      const last = w.__gapless.titles[w.__gapless.titles.length - 1];
      const end = a.buffered.length ? a.buffered.end(a.buffered.length - 1) : 0;
      if (!last || last[0] !== t) w.__gapless.titles.push([t, a.currentTime, end]);
    };
    new MutationObserver(note).observe(document.querySelector(".player-bar")!, { subtree: true, childList: true, characterData: true });
    if (title) note();
  });
  await page.getByTestId("play-album").click();
  await expect(page.getByTestId("np-title")).toHaveText("Part One");
  await expect(page.getByTestId("np-title")).toHaveText("Part Two", { timeout: 15_000 });
  await expect(page.getByTestId("np-title")).toHaveText("Part Three", { timeout: 15_000 });
  await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 6.5);

  const audio = page.getByTestId("audio");
  // The tracks sit end to end on one timeline: the encoder's priming is cut, so each one
  // starts exactly where the previous one's 3 s of audio ended.
  const starts = await audio.evaluate((a: HTMLAudioElement) => (a.dataset.trackStarts ?? "").split(",").map(Number));
  expect(starts.length).toBe(3);
  expect(starts[0]).toBe(0);
  expect(Math.abs(starts[1] - 3)).toBeLessThan(0.01);
  expect(Math.abs(starts[2] - 6)).toBeLessThan(0.01);
  // What is buffered has no hole longer than 50 ms, and covers both boundaries.
  const ranges = await audio.evaluate((a: HTMLAudioElement) =>
    Array.from({ length: a.buffered.length }, (_, i) => [a.buffered.start(i), a.buffered.end(i)]));
  for (let i = 1; i < ranges.length; i++) {
    expect(ranges[i][0] - ranges[i - 1][1], JSON.stringify(ranges)).toBeLessThan(0.05);
  }
  expect(ranges[0][0]).toBeLessThan(0.05);
  expect(ranges[ranges.length - 1][1]).toBeGreaterThan(8.9);

  const seen = await page.evaluate(() => {
    const g = (window as any).__gapless;
    return { stalls: g.stalls, titles: g.titles, srcs: Array.from(g.srcs), times: g.times };
  });
  // When each boundary was crossed, the next track's audio was already buffered past it
  // (the player fetched and appended it ahead, on the same MediaSource); time only moves
  // forward through the boundaries.
  for (const [title, , end] of seen.titles.filter((x: [string, number, number]) => x[0] === "Part Two" || x[0] === "Part Three")) {
    const boundary = title === "Part Two" ? 3 : 6;
    expect(end, `${title}: ${JSON.stringify(seen)}`).toBeGreaterThan(boundary + 1);
  }
  expect(seen.srcs.length).toBe(1);
  for (let i = 1; i < seen.times.length; i++) expect(seen.times[i]).toBeGreaterThanOrEqual(seen.times[i - 1]);
  expect(seen.times.some((t: number) => t > 2.5 && t < 3)).toBe(true);
  expect(seen.times.some((t: number) => t > 3 && t < 3.5)).toBe(true);
  expect(seen.times.some((t: number) => t > 5.5 && t < 6)).toBe(true);
  expect(seen.times.some((t: number) => t > 6 && t < 6.5)).toBe(true);
  // The title followed the music at each boundary.
  const titles = seen.titles.map((x: [string, number]) => x[0]).filter((t: string) => t.startsWith("Part"));
  expect(titles).toEqual(["Part One", "Part Two", "Part Three"]);
  const at = (t: string) => seen.titles.find((x: [string, number]) => x[0] === t)[1];
  expect(at("Part Two")).toBeGreaterThanOrEqual(2.99);
  expect(at("Part Three")).toBeGreaterThanOrEqual(5.99);
  await expect(page.getByTestId("next")).toBeDisabled();

  // Repeat one: the last track is laid after itself (again and again, up to 30 s ahead)
  // and plays again, still without a reload.
  await page.getByTestId("repeat").click();
  await page.getByTestId("repeat").click();
  await expect(page.getByTestId("repeat")).toHaveAttribute("data-mode", "one");
  await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 9.3, null, { timeout: 15_000 });
  await expect(page.getByTestId("np-title")).toHaveText("Part Three");
  expect(await audio.evaluate((a: HTMLAudioElement) => a.paused)).toBe(false);
  const again = await audio.evaluate((a: HTMLAudioElement) => (a.dataset.trackStarts ?? "").split(",").map(Number));
  expect(again.length).toBeGreaterThanOrEqual(5);
  expect(Math.abs(again[3] - 9)).toBeLessThan(0.02);
  expect(Math.abs(again[4] - 12)).toBeLessThan(0.03);
  expect(await page.evaluate(() => (window as any).__gapless.srcs.size)).toBe(1);
});

test("loudness normalization turns a loud track down, and can be switched off in Settings", async ({ page }) => {
  await signUp(page, uniqueEmail("loud"));
  const title = `Blaring ${letters(6)}`;
  // A full-scale tone: about -4 LUFS, so about 10 dB over the -14 LUFS target.
  await upload(page, [synthFlac("loud.flac", { title, artist: `Loud ${letters(5)}` }, 20, 440, -1)]);
  await hydrated(page);
  await page.locator(".track-row", { hasText: title }).hover();
  await page.getByRole("button", { name: `Play ${title}` }).click();
  await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 0.2);
  const volume = () => page.getByTestId("audio").evaluate((a: HTMLAudioElement) => a.volume);
  await expect.poll(volume).toBeLessThan(0.45);
  expect(await volume()).toBeGreaterThan(0.2);

  await page.getByRole("link", { name: "Settings" }).click();
  const box = page.getByTestId("normalize");
  await expect(box).toBeChecked();
  await expect(page.getByTestId("gain-note")).toContainText(/plays \d+\.\d dB quieter/);
  await box.uncheck();
  await expect(page.getByTestId("gain-note")).toHaveCount(0);
  await expect.poll(volume).toBe(1);
  // Remembered in this browser.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("normalize")).not.toBeChecked();
  await page.getByTestId("normalize").check();
  await page.getByRole("link", { name: "Library" }).click();
  await page.locator(".track-row", { hasText: title }).hover();
  await page.getByRole("button", { name: `Play ${title}` }).click();
  await expect.poll(volume).toBeLessThan(0.45);
});

test("album likes: like from the album page, see it under Liked Songs, unlike", async ({ page }) => {
  const album = `Cherished ${letters(6)}`;
  await signUp(page, uniqueEmail("albumlike"));
  await upload(page, [synthFlac("c1.flac", { title: "Keepsake", artist: `Fond ${letters(5)}`, album, track: "1" }, 2)]);
  await page.locator(".track-row", { hasText: "Keepsake" }).getByRole("link", { name: album }).click();
  await hydrated(page);
  const like = page.getByTestId("album-like");
  await expect(like).toHaveAttribute("aria-pressed", "false");
  const saved = page.waitForResponse((r) => r.url().includes("/api/set_album_liked") && r.ok());
  await like.click();
  await saved;
  await expect(like).toHaveAttribute("aria-pressed", "true");
  await page.getByRole("link", { name: "Liked Songs" }).click();
  await expect(page.getByTestId("liked-albums")).toContainText(album);
  await page.getByTestId("liked-albums").getByRole("link", { name: new RegExp(album) }).click();
  await expect(page.getByTestId("album-like")).toHaveAttribute("aria-pressed", "true");
  const unsaved = page.waitForResponse((r) => r.url().includes("/api/set_album_liked") && r.ok());
  await page.getByTestId("album-like").click();
  await unsaved;
  await page.reload();
  await expect(page.getByTestId("album-like")).toHaveAttribute("aria-pressed", "false");
});

import { test, expect, Page } from "./fixtures";
import * as path from "node:path";
import { hydrated, signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

function audioProp<T>(page: Page, f: (a: HTMLAudioElement) => T): Promise<T> {
  return page.getByTestId("audio").evaluate(f);
}

test("keyboard shortcuts drive the player; mute is remembered across a reload", async ({ page }) => {
  const artist = `Keys ${Date.now()}`;
  await signUp(page, uniqueEmail("keys"));
  const files = [
    synthMp3("k1.mp3", { title: "Key One", artist, album: "Keyboard", track: "1" }, 30),
    synthMp3("k2.mp3", { title: "Key Two", artist, album: "Keyboard", track: "2" }, 30),
  ];
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(files);
  for (const f of files) {
    await expect(page.locator("li.import", { hasText: path.basename(f) })).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  }
  await page.locator(".track-row", { hasText: "Key One" }).getByRole("link", { name: "Keyboard" }).click();
  await expect(page.getByTestId("album-title")).toHaveText("Keyboard");
  await hydrated(page);
  await page.getByTestId("play-album").click();
  await expect(page.getByTestId("np-title")).toHaveText("Key One");
  await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 0.3);

  // Focus is on the Play button; keys other than Space still reach the player. Move focus
  // to the page so Space is ours too.
  await page.getByTestId("album-title").click();
  await page.keyboard.press(" ");
  await expect.poll(() => audioProp(page, (a) => a.paused)).toBe(true);
  const t0 = await audioProp(page, (a) => a.currentTime);
  await page.keyboard.press("ArrowRight");
  await expect.poll(() => audioProp(page, (a) => a.currentTime)).toBeGreaterThan(t0 + 4.5);
  const t1 = await audioProp(page, (a) => a.currentTime);
  await page.keyboard.press("ArrowLeft");
  await expect.poll(() => audioProp(page, (a) => a.currentTime)).toBeLessThan(t1 - 4.5);
  expect(await audioProp(page, (a) => a.paused)).toBe(true);
  await page.keyboard.press(" ");
  await expect.poll(() => audioProp(page, (a) => a.paused)).toBe(false);

  const v0 = await audioProp(page, (a) => a.volume);
  await page.keyboard.press("ArrowDown");
  await expect.poll(() => audioProp(page, (a) => a.volume)).toBeLessThan(v0 - 0.05);

  await page.keyboard.press("n");
  await expect(page.getByTestId("np-title")).toHaveText("Key Two");
  await page.keyboard.press("p");
  await expect(page.getByTestId("np-title")).toHaveText("Key One");

  await page.keyboard.press("l");
  await expect(page.getByTestId("np-like")).toHaveAttribute("aria-pressed", "true");

  await page.keyboard.press("?");
  await expect(page.getByTestId("shortcuts-dialog")).toBeVisible();
  await expect(page.getByTestId("shortcuts-dialog")).toContainText("Next or previous track");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("shortcuts-dialog")).toBeHidden();

  await page.keyboard.press("m");
  await expect.poll(() => audioProp(page, (a) => a.muted)).toBe(true);
  await expect(page.getByTestId("mute")).toHaveAttribute("aria-pressed", "true");

  // Typing in the search box is typing, not shortcuts.
  await page.keyboard.press("/");
  await expect(page).toHaveURL(/\/search$/);
  const box = page.getByTestId("search-box");
  await expect(box).toBeFocused();
  await page.keyboard.type("n m");
  await expect(box).toHaveValue("n m");
  await expect(page.getByTestId("np-title")).toHaveText("Key One");

  // The like was stored; mute was remembered.
  await page.goto("/liked");
  await expect(page.locator(".track-row", { hasText: "Key One" })).toBeVisible();
  await hydrated(page);
  await expect.poll(() => audioProp(page, (a) => a.muted)).toBe(true);
  await expect(page.getByTestId("mute")).toHaveAttribute("aria-pressed", "true");
});

test("Media Session metadata follows the track", async ({ page }) => {
  const artist = `Session ${Date.now()}`;
  await signUp(page, uniqueEmail("mediasession"));
  const files = [
    synthMp3("ms1.mp3", { title: "Lock Screen One", artist, album: "Sessions", track: "1" }, 20),
    synthMp3("ms2.mp3", { title: "Lock Screen Two", artist, album: "Sessions", track: "2" }, 20),
  ];
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(files);
  for (const f of files) {
    await expect(page.locator("li.import", { hasText: path.basename(f) })).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  }
  await page.locator(".track-row", { hasText: "Lock Screen One" }).getByRole("link", { name: "Sessions" }).click();
  await hydrated(page);
  await page.getByTestId("play-album").click();
  const meta = () => page.evaluate(() => {
    const m = navigator.mediaSession.metadata;
    return m ? `${m.title} / ${m.artist} / ${navigator.mediaSession.playbackState}` : "none";
  });
  await expect.poll(meta).toBe(`Lock Screen One / ${artist} / playing`);
  await page.getByTestId("next").click();
  await expect.poll(meta).toBe(`Lock Screen Two / ${artist} / playing`);
  await page.getByTestId("play-pause").click();
  await expect.poll(meta).toBe(`Lock Screen Two / ${artist} / paused`);
});

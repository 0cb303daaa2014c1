import { test, expect, Page } from "./fixtures";
import * as path from "node:path";
import { hydrated, signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

function upNext(page: Page) {
  return page.getByTestId("up-next").locator(".track-title");
}

test("play next, add to queue, reorder, and the queue survives a reload", async ({ page }) => {
  const artist = `Queuers ${Date.now()}`;
  await signUp(page, uniqueEmail("queue"));
  const files = ["Alpha", "Bravo", "Charlie", "Delta"].map((t, i) =>
    synthMp3(`${t.toLowerCase()}.mp3`, { title: t, artist, album: "Phonetic", track: String(i + 1) }, 60));
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(files);
  for (const f of files) {
    await expect(page.locator("li.import", { hasText: path.basename(f) })).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  }
  await page.locator(".track-row", { hasText: "Alpha" }).getByRole("link", { name: "Phonetic" }).click();
  await expect(page.getByTestId("album-title")).toHaveText("Phonetic");
  await hydrated(page);
  // Plays Alpha; the album becomes the queue.
  await page.locator(".track-row", { hasText: "Alpha" }).hover();
  await page.getByRole("button", { name: "Play Alpha" }).click();
  await expect(page.getByTestId("np-title")).toHaveText("Alpha");

  // Delta: play next (right after Alpha). Bravo: add to the end (a second time).
  await page.getByLabel("More for Delta").click(); // a <summary>: opens the menu
  await page.getByRole("menuitem", { name: "Play next" }).click();
  const saved = page.waitForResponse((r) => r.url().includes("/api/save_queue") && r.ok());
  await page.getByLabel("More for Bravo").click();
  await page.getByRole("menuitem", { name: "Add to queue" }).click();
  await saved;

  await page.getByTestId("queue-link").click();
  await expect(page.getByRole("heading", { name: "Queue" })).toBeVisible();
  await expect(page.getByTestId("now-playing")).toContainText("Alpha");
  await expect(upNext(page)).toHaveText(["Delta", "Bravo", "Charlie", "Delta", "Bravo"]);

  // Reorder: Charlie up one (buttons), then remove the first Delta.
  let reordered = page.waitForResponse((r) => r.url().includes("/api/save_queue") && r.ok());
  await page.getByRole("button", { name: "Move Charlie up" }).click();
  await reordered;
  await expect(upNext(page)).toHaveText(["Delta", "Charlie", "Bravo", "Delta", "Bravo"]);
  reordered = page.waitForResponse((r) => r.url().includes("/api/save_queue") && r.ok());
  await page.getByRole("button", { name: "Remove Delta from the queue" }).first().click();
  await reordered;
  await expect(upNext(page)).toHaveText(["Charlie", "Bravo", "Delta", "Bravo"]);

  // Drag and drop: the last Bravo onto the first row.
  reordered = page.waitForResponse((r) => r.url().includes("/api/save_queue") && r.ok());
  const rows = page.getByTestId("up-next").getByTestId("queue-row");
  await rows.nth(3).dragTo(rows.nth(0));
  await reordered;
  await expect(upNext(page)).toHaveText(["Bravo", "Charlie", "Bravo", "Delta"]);

  // Pause (which stores the position), then reload: the same queue, cued where it was.
  await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 1);
  const paused = page.waitForResponse((r) => r.url().includes("/api/save_queue_position") && r.ok());
  await page.getByTestId("play-pause").click();
  await paused;
  const at = await page.getByTestId("audio").evaluate((a: HTMLAudioElement) => a.currentTime);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("np-title")).toHaveText("Alpha");
  await expect(upNext(page)).toHaveText(["Bravo", "Charlie", "Bravo", "Delta"]);
  // Play continues Alpha from where it paused, then next goes on through the queue.
  await page.getByTestId("play-pause").click();
  await page.waitForFunction((t) => {
    const a = document.querySelector("audio") as HTMLAudioElement;
    return !a.paused && a.currentTime >= t - 0.5;
  }, at);
  await page.getByTestId("next").click();
  await expect(page.getByTestId("np-title")).toHaveText("Bravo");
  await expect(upNext(page)).toHaveText(["Charlie", "Bravo", "Delta"]);

  await page.getByTestId("clear-queue").click();
  await expect(upNext(page)).toHaveCount(0);
  await expect(page.getByTestId("next")).toBeDisabled();
});

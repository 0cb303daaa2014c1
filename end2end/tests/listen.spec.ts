import { test, expect } from "./fixtures";
import * as path from "node:path";
import { hydrated, signUp, synthMp3, textFile, toLibrary, uniqueEmail } from "./helpers";

test("sign up, upload a tagged song, hear it play, seek, and lose the stream at logout", async ({ page }) => {
  const title = `Harbour Lights ${Date.now()}`;
  const file = synthMp3("harbour.mp3", { title, artist: "The Test Tones", album: "Sine Waves" });
  await signUp(page, uniqueEmail("listen"));
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(file);
  const job = page.locator("li.import", { hasText: path.basename(file) });
  await expect(job).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  // Finished imports fold away, counted in the summary.
  await expect(page.locator("details.imports summary")).toContainText("1 imported");
  await expect(page.locator("details.imports")).not.toHaveAttribute("open");

  const row = page.locator(".track-row", { hasText: title });
  await expect(row).toBeVisible();
  await expect(row).toContainText("The Test Tones");
  await expect(row).toContainText("0:30");

  const streamUrls: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/stream/")) streamUrls.push(r.url());
  });

  await row.hover();
  const started = Date.now();
  await page.getByRole("button", { name: `Play ${title}` }).click();
  await page.waitForFunction(() => {
    const a = document.querySelector("audio") as HTMLAudioElement;
    return a && a.currentTime > 0;
  });
  console.log(`click-to-audio-ms ${Date.now() - started}`);

  const audio = page.getByTestId("audio");
  expect(await audio.evaluate((a: HTMLAudioElement) => a.src)).toMatch(/^blob:/);
  await expect(page.getByTestId("np-title")).toHaveText(title);
  await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 2);

  // Seek to 20 s (beyond what the player buffers ahead at first) and keep playing.
  await page.getByTestId("seek").evaluate((el: HTMLInputElement) => {
    el.value = "20";
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  });
  await page.waitForFunction(() => {
    const a = document.querySelector("audio") as HTMLAudioElement;
    return a.currentTime > 21 && !a.paused;
  });
  const after = await audio.evaluate((a: HTMLAudioElement) => a.currentTime);
  expect(after).toBeGreaterThan(21);
  expect(after).toBeLessThan(30);

  expect(streamUrls.length).toBeGreaterThan(0);
  const streamUrl = streamUrls[0];
  const before = await page.request.get(streamUrl, { headers: { Range: "bytes=0-15" } });
  expect(before.status()).toBe(206);

  await page.getByTestId("logout").click();
  await expect(page).toHaveURL(/\/login$/);
  const gone = await page.request.get(streamUrl, { headers: { Range: "bytes=0-15" } });
  expect(gone.status()).toBe(401);
});

test("a text file renamed .mp3 ends as a failed job with a readable reason and no track", async ({ page }) => {
  const file = textFile(`notes-${Date.now()}.mp3`, "these are not the droids you are looking for\n".repeat(50));
  await signUp(page, uniqueEmail("badfile"));
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(file);
  const job = page.locator("li.import", { hasText: path.basename(file) });
  await expect(job).toHaveAttribute("data-state", "failed", { timeout: 60_000 });
  await expect(job.locator(".import-error")).toContainText(/not audio|no audio|no playable audio/);
  // A failure keeps the list open, so its reason is seen.
  await expect(page.locator("details.imports")).toHaveAttribute("open");
  await expect(page.locator("details.imports summary")).toContainText("1 failed");
  await expect(job.locator(".import-error")).toBeVisible();
  // No track came of it (other tests' shared-catalog tracks may be listed alongside).
  await expect(page.getByRole("heading", { name: "Tracks" })).toBeVisible();
  await expect(page.locator(".track-row", { hasText: "notes-" })).toHaveCount(0);
});

test("a track heard past half its length counts one play, shown after a reload", async ({ page }) => {
  const title = `Short Loop ${Date.now()}`;
  await signUp(page, uniqueEmail("plays"));
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(synthMp3("loop.mp3", { title, artist: "Counters" }, 4));
  const row = page.locator(".track-row", { hasText: title });
  await expect(row).toBeVisible({ timeout: 60_000 });
  await expect(row.getByTestId("plays")).toHaveText("0");
  await row.hover();
  const recorded = page.waitForResponse((r) => r.url().includes("/api/record_play") && r.ok());
  await page.getByRole("button", { name: `Play ${title}` }).click();
  await recorded;
  // The event is handled by the worker; the count shows once it is.
  await expect(async () => {
    await page.reload();
    await expect(page.locator(".track-row", { hasText: title }).getByTestId("plays")).toHaveText("1", { timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  // Home opens with what was played last; a card plays it again.
  await page.getByRole("link", { name: "Home", exact: true }).click();
  const shelf = page.getByTestId("recently-played");
  await expect(shelf).toContainText(title);
  await page.screenshot({ path: "test-results/recently-played.png" });
  await hydrated(page);
  await shelf.getByRole("button", { name: `Play ${title}` }).click();
  await expect(page.getByTestId("np-title")).toHaveText(title);
});

import { test, expect } from "./fixtures";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { asAdmin, hydrated, letters, synthFlac, synthMp3 } from "./helpers";

test("an admin adds a music folder, scans it with live counts, and plays a scanned track at once", async ({ page }) => {
  // A folder on the server's machine (the tests run beside it): two tagged files, a file
  // that only pretends to be audio, and a symlink pointing out of the folder.
  const music = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-music-"));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-outside-"));
  const band = `Shelf ${letters(6)}`;
  const mp3Title = `Scanned Meadow ${letters(5)}`;
  const flacTitle = `Scanned River ${letters(5)}`;
  fs.mkdirSync(path.join(music, band));
  fs.copyFileSync(synthMp3("a.mp3", { title: mp3Title, artist: band, album: "Found On Disk" }, 20), path.join(music, band, "01 meadow.mp3"));
  fs.copyFileSync(synthFlac("b.flac", { title: flacTitle, artist: band, album: "Found On Disk" }, 8), path.join(music, band, "02 river.flac"));
  fs.writeFileSync(path.join(music, "not-really.mp3"), "just text");
  fs.writeFileSync(path.join(outside, "secret.mp3"), "private");
  fs.symlinkSync(path.join(outside, "secret.mp3"), path.join(music, "escape.mp3"));

  await asAdmin(page);
  await page.getByRole("link", { name: "Admin" }).click();
  await expect(page.getByRole("heading", { name: "Music folders" })).toBeVisible();
  await hydrated(page);
  await page.getByTestId("folder-path").fill(music);
  await page.getByRole("button", { name: "Add", exact: true }).click();
  const row = page.locator(".folder-row", { hasText: music });
  await expect(row).toBeVisible();
  // Nested folders are refused with a reason.
  await page.getByTestId("folder-path").fill(path.join(music, band));
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("overlaps the music folder");

  await page.getByTestId("scan-now").click();
  const progress = page.getByTestId("scan-progress");
  await expect(progress).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  // Other tests' folders may be scanned too; this one's files are among the counts.
  expect(Number(await page.getByTestId("scan-added").textContent())).toBeGreaterThanOrEqual(2);
  await expect(row).toContainText("2 tracks from 3 files");
  await expect(row).toContainText("1 unreadable");
  await progress.getByText(/files skipped or unreadable/).click();
  await expect(progress).toContainText("escape.mp3: symlink points outside the music folder");
  await expect(progress).toContainText("not-really.mp3");
  await page.screenshot({ path: "test-results/music-folders.png", fullPage: true });

  // The scanned MP3 has no rendition yet: pressing play makes one on the spot.
  await page.getByRole("link", { name: "Library" }).first().click();
  const track = page.locator(".track-row", { hasText: mp3Title });
  await expect(track).toBeVisible();
  await expect(track).toContainText(band);
  await hydrated(page);
  await track.hover();
  await page.getByRole("button", { name: `Play ${mp3Title}` }).click();
  await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 1.0);
  await expect(page.getByTestId("np-title")).toHaveText(mp3Title);
});

import { test, expect } from "./fixtures";
import * as fs from "node:fs";
import { hydrated, signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

test("dropping files on the drop zone uploads each with its own progress", async ({ page }) => {
  await signUp(page, uniqueEmail("drop"));
  await toLibrary(page);
  const a = synthMp3("drop-a.mp3", { title: "Dropped A", artist: "Drag Band" }, 3);
  const b = synthMp3("drop-b.mp3", { title: "Dropped B", artist: "Drag Band" }, 3);
  const files = [a, b].map((f) => ({ name: f.split("/").pop()!, data: fs.readFileSync(f).toString("base64") }));
  const transfer = await page.evaluateHandle((files) => {
    const dt = new DataTransfer();
    for (const f of files) {
      const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: "audio/mpeg" }));
    }
    return dt;
  }, files);
  await page.locator(".dropzone").dispatchEvent("dragover", { dataTransfer: transfer });
  await expect(page.locator(".dropzone")).toHaveClass(/dragging/);
  await page.locator(".dropzone").dispatchEvent("drop", { dataTransfer: transfer });
  await expect(page.locator(".upload progress")).toHaveCount(2);
  await expect(page.locator(".upload", { hasText: "drop-a.mp3" })).toContainText("Uploaded");
  await expect(page.locator(".track-row", { hasText: "Dropped A" })).toBeVisible({ timeout: 60_000 });
  await expect(page.locator(".track-row", { hasText: "Dropped B" })).toContainText("Drag Band");
});

test("home and the library fit a 360-pixel-wide phone without horizontal scrolling", async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await signUp(page, uniqueEmail("phone"));
  // A new user on an empty server is pointed at where music comes in.
  await expect(page.getByTestId("home-empty").or(page.getByTestId("album-grid"))).toBeVisible();
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(await overflow()).toBeLessThanOrEqual(0);
  await page.screenshot({ path: "test-results/home-phone.png", fullPage: true });
  await toLibrary(page);
  await expect(page.getByRole("heading", { name: "Tracks" })).toBeVisible();
  expect(await overflow()).toBeLessThanOrEqual(0);
});

test("a signed-out visitor is sent to the login page and wrong credentials get a clear message", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await page.getByLabel("Email").fill(uniqueEmail("nobody"));
  await page.getByLabel("Password").fill("not-the-password-1");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
});

test("a liked track shows in Liked Songs, stays after a reload, and leaves when unliked", async ({ page }) => {
  await signUp(page, uniqueEmail("likes"));
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(synthMp3("heart.mp3", { title: "Heart Song", artist: "Love Band" }, 3));
  const row = page.locator(".track-row", { hasText: "Heart Song" });
  await expect(row).toBeVisible({ timeout: 60_000 });
  const heart = row.getByRole("button", { name: "Like Heart Song" });
  await expect(heart).toHaveAttribute("aria-pressed", "false");
  await Promise.all([
    page.waitForResponse((r) => r.url().includes("/api/set_liked") && r.ok()),
    heart.click(),
  ]);
  await expect(heart).toHaveAttribute("aria-pressed", "true");

  await page.getByRole("link", { name: "Liked Songs" }).click();
  await expect(page.getByRole("heading", { name: "Liked Songs" })).toBeVisible();
  const liked = page.locator(".track-row", { hasText: "Heart Song" });
  await expect(liked).toContainText("Love Band");
  await page.reload();
  await expect(liked).toBeVisible();
  await page.screenshot({ path: "test-results/liked-songs.png" });
  await hydrated(page);
  await liked.getByRole("button", { name: "Like Heart Song" }).click();
  await expect(page.getByTestId("liked-empty")).toBeVisible();
});

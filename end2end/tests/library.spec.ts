import { test, expect } from "@playwright/test";
import * as fs from "node:fs";
import { hydrated, signUp, synthMp3, uniqueEmail } from "./helpers";

test("dropping files on the drop zone uploads each with its own progress", async ({ page }) => {
  await signUp(page, uniqueEmail("drop"));
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

test("the library fits a 360-pixel-wide phone without horizontal scrolling", async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await signUp(page, uniqueEmail("phone"));
  await expect(page.getByRole("heading", { name: "Tracks" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
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

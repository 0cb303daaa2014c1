import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect, Page } from "@playwright/test";

export function uniqueEmail(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

export const PASSWORD = "violet-harbour-87";

/** Synthesizes a tagged MP3 with ffmpeg; no binary fixtures live in git. */
export function synthMp3(name: string, tags: Record<string, string>, seconds = 30): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-audio-"));
  const file = path.join(dir, name);
  const meta = Object.entries(tags).flatMap(([k, v]) => ["-metadata", `${k}=${v}`]);
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`,
    ...meta, "-c:a", "libmp3lame", "-b:a", "128k", file,
  ]);
  return file;
}

export function textFile(name: string, contents: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-text-"));
  const file = path.join(dir, name);
  fs.writeFileSync(file, contents);
  return file;
}

/** Waits until the WASM client has hydrated the page (it marks <body data-hydrated>). */
export async function hydrated(page: Page) {
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
}

export async function signUp(page: Page, email: string) {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Library" })).toBeVisible();
}

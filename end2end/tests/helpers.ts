import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHmac } from "node:crypto";
import { expect, Page } from "@playwright/test";

export function uniqueEmail(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Random lower-case letters (search words must be letters to be one word). */
export function letters(n: number): string {
  return Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join("");
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

/** Synthesizes a tagged FLAC (lossless, so its length is exact to the sample) of a tone at
 * `frequency` Hz whose peaks reach `peakDb` dBFS. */
export function synthFlac(name: string, tags: Record<string, string>, seconds: number, frequency = 440, peakDb = -18): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-audio-"));
  const file = path.join(dir, name);
  const meta = Object.entries(tags).flatMap(([k, v]) => ["-metadata", `${k}=${v}`]);
  const amp = Math.pow(10, peakDb / 20);
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `aevalsrc=${amp}*sin(2*PI*${frequency}*t):s=44100:d=${seconds}`,
    ...meta, "-c:a", "flac", file,
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
/// The page is interactive and no navigation is loading another page's code.
export async function hydrated(page: Page) {
  await page.locator("body[data-hydrated]:not([data-routing])").waitFor({ state: "attached" });
}

export async function signUp(page: Page, email: string) {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
}

/** Opens the library (its sidebar link, as a user would): upload tools, imports, tracks. */
export async function toLibrary(page: Page) {
  await hydrated(page);
  await page.getByRole("link", { name: "Library", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Library" })).toBeVisible();
  await hydrated(page);
}

/** Signs in as the server's admin account (REFRAIN_ADMIN_EMAIL), creating it if no test
 * has yet; safe when several tests race to create it. */
export async function asAdmin(page: Page, email = "admin@refrain.test") {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  const library = page.getByRole("heading", { name: "Home" });
  const taken = page.getByRole("alert").filter({ hasText: "already exists" });
  await expect(library.or(taken)).toBeVisible();
  if (await taken.isVisible()) {
    await page.goto("/login");
    await hydrated(page);
    await logInWithPassword(page, email);
    await expect(library).toBeVisible();
  }
}

/** A picture synthesized by ffmpeg (a solid colour). */
export function synthPng(name: string, color = "orange", size = "320x200"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-image-"));
  const file = path.join(dir, name);
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `color=c=${color}:s=${size}`, "-frames:v", "1", file,
  ]);
  return file;
}

/** RFC 4648 base32 (no padding) to bytes. */
function base32Decode(s: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of s.replace(/=+$/, "").toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The 6-digit RFC 6238 code (SHA-1, 30 s) for `secret` at `unixSeconds`. */
export function totpCode(secret: string, unixSeconds = Date.now() / 1000): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return bin.toString().padStart(6, "0");
}

export async function logOut(page: Page) {
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
}

/** The password step of a login; returns once the next screen shows. */
export async function logInWithPassword(page: Page, email: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** Waits for the email to `to` whose subject contains `subject` in the SMTP sink's Maildir
 * and returns its decoded text. */
export async function deliveredMail(to: string, subject: string, timeoutMs = 30_000): Promise<string> {
  const dir = process.env.REFRAIN_TEST_MAILDIR;
  if (!dir) throw new Error("REFRAIN_TEST_MAILDIR is not set (scripts/test.sh sets it)");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const newDir = path.join(dir, "new");
    for (const f of fs.existsSync(newDir) ? fs.readdirSync(newDir) : []) {
      const raw = fs.readFileSync(path.join(newDir, f), "utf8");
      const headers = raw.split(/\r?\n\r?\n/)[0];
      const lines = headers.split(/\r?\n/);
      const match = (name: RegExp, text: string) => lines.some((l) => name.test(l) && l.includes(text));
      if (match(/^to:/i, to) && match(/^subject:/i, subject)) {
        return raw
          .replace(/=\r?\n/g, "")
          .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
      }
    }
    if (Date.now() > deadline) throw new Error(`no email "${subject}" to ${to} arrived`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

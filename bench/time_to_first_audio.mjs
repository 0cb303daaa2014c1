// Time from clicking play to `currentTime > 0`, in headless Chromium against a running
// Refrain (BASE_URL, default http://127.0.0.1:3000). Signs up a fresh user, imports RUNS
// synthesized tracks, plays each once (cold: never played before in this page) and prints
// p50/p95/max. Run from end2end/ so @playwright/test resolves:
//   cd end2end && node ../bench/time_to_first_audio.mjs
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// Resolve Playwright from the current directory (end2end/), not from bench/.
const { chromium } = createRequire(path.join(process.cwd(), "x.js"))("@playwright/test");

const base = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const runs = Number(process.env.RUNS ?? 20);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ baseURL: base });
await page.goto("/signup");
await page.getByLabel("Email").fill(`bench-${Date.now()}@example.com`);
await page.getByLabel("Password").fill("violet-harbour-87");
await page.getByRole("button", { name: "Create account" }).click();
await page.getByRole("heading", { name: "Home" }).waitFor();
await page.goto("/library");
await page.locator("body[data-hydrated]").waitFor();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-bench-"));
const files = [];
for (let i = 0; i < runs; i++) {
  const f = path.join(dir, `bench-${i}.mp3`);
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
    `sine=frequency=${300 + i * 20}:duration=60`, "-metadata", `title=Bench ${String(i).padStart(3, "0")}`, "-c:a", "libmp3lame", f]);
  files.push(f);
}
await page.getByTestId("upload-input").setInputFiles(files);
await page.waitForFunction((n) => document.querySelectorAll('li.import[data-state="done"]').length >= n, runs, { timeout: 300_000 });
await page.reload();
await page.getByRole("heading", { name: "Library" }).waitFor();

const times = [];
for (let i = 0; i < runs; i++) {
  const title = `Bench ${String(i).padStart(3, "0")}`;
  await page.locator(".track-row", { hasText: title }).hover();
  const t0 = await page.evaluate(() => performance.now());
  await page.getByRole("button", { name: `Play ${title}`, exact: true }).click();
  const t1 = await page.evaluate((t) => new Promise((resolve) => {
    const a = document.querySelector("audio");
    const check = () => (a.currentTime > 0 && a.src.startsWith("blob:") && document.querySelector('[data-testid="np-title"]')?.textContent === t)
      ? resolve(performance.now()) : requestAnimationFrame(check);
    check();
  }), title);
  times.push(t1 - t0);
  await page.getByTestId("play-pause").click();
}
times.sort((a, b) => a - b);
const pct = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
console.log(`time-to-first-audio over ${runs} cold tracks (ms): p50 ${pct(0.5).toFixed(0)}  p95 ${pct(0.95).toFixed(0)}  max ${times.at(-1).toFixed(0)}`);
console.log(`all: ${times.map((t) => t.toFixed(0)).join(" ")}`);
await browser.close();

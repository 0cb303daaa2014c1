// Offline listening, in headless Chromium against a running Refrain (BASE_URL, default
// http://127.0.0.1:3000): the size of the app shell the service worker precaches, the
// storage a downloaded minute of audio takes, and the time from pressing Play on the
// offline page (after a reload without the network) to the first audio (currentTime > 0),
// median of RUNS (default 10). Run from end2end/:
//   cd end2end && node ../bench/offline.mjs
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const { chromium } = createRequire(path.join(process.cwd(), "x.js"))("@playwright/test");
const base = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const runs = Number(process.env.RUNS ?? 10);
const seconds = Number(process.env.SECONDS ?? 240);
const kb = (n) => `${(n / 1024).toFixed(0)} KB`;

// A four-minute track (a tone; its rendition is what is stored, whatever the source).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-bench-"));
const file = path.join(dir, "offline-bench.mp3");
const tag = Math.random().toString(36).slice(2, 8).replace(/[0-9]/g, "x");
execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
  `sine=frequency=330:duration=${seconds}`, "-metadata", `title=Bench ${tag}`, "-metadata",
  `artist=Bencher ${tag}`, "-metadata", `album=Offline ${tag}`, "-c:a", "libmp3lame", "-b:a", "192k", file]);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required"],
});
const context = await browser.newContext({ baseURL: base });
const page = await context.newPage();
await page.goto("/signup");
await page.locator("body[data-hydrated]").waitFor();
await page.getByLabel("Email").fill(`offline-bench-${Date.now()}@example.com`);
await page.getByLabel("Password").fill("violet-harbour-87");
await page.getByRole("button", { name: "Create account" }).click();
await page.getByRole("heading", { name: "Home" }).waitFor();
await page.goto("/library");
await page.locator("body[data-hydrated]").waitFor();
await page.getByTestId("upload-input").setInputFiles(file);
const row = page.locator(".track-row", { hasText: `Bench ${tag}` });
await row.waitFor({ timeout: 120_000 });
await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
await row.locator(".col-album a").click();
await page.getByTestId("album-title").waitFor();
await page.locator("body[data-hydrated]:not([data-routing])").waitFor();
await page.getByTestId("download").getByRole("button", { name: /^Download$/ }).click();
await page.getByTestId("download").locator("[data-state=downloaded]").waitFor({ timeout: 120_000 });

const sizes = await page.evaluate(async () => {
  const total = async (name) => {
    const c = await caches.open(name);
    let n = 0;
    for (const r of await c.keys()) n += (await (await c.match(r)).arrayBuffer()).byteLength;
    return n;
  };
  const shell = (await caches.keys()).find((n) => n.startsWith("refrain-shell-"));
  return { shell: await total(shell), media: await total("refrain-media") };
});

await context.setOffline(true);
const times = [];
for (let i = 0; i < runs; i++) {
  await page.goto("/offline").catch(() => {});
  await page.reload();
  await page.locator("body[data-hydrated]").waitFor();
  const play = page.locator(".offline-download").getByRole("button", { name: /^Play / });
  await play.waitFor();
  times.push(await page.evaluate(() => new Promise((done) => {
    const audio = document.querySelector("audio");
    const button = document.querySelector(".offline-download .list-head button");
    const t0 = performance.now();
    button.click();
    const tick = () => (audio.currentTime > 0 ? done(performance.now() - t0) : requestAnimationFrame(tick));
    tick();
  })));
}
await browser.close();

times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(`precached shell: ${kb(sizes.shell)}`);
console.log(`downloaded: ${kb(sizes.media)} for ${seconds} s of audio = ${kb(sizes.media / (seconds / 60))} per minute`);
console.log(`offline reload, Play to first audio: p50 ${median.toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[times.length - 1].toFixed(0)}, ${runs} runs)`);

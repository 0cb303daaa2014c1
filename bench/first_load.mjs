// What the browser downloads before the page a signed-in user lands on (Home) is
// interactive, and the same for the library page, in headless Chromium against a running Refrain (BASE_URL, default
// http://127.0.0.1:3000): every WASM and JS file fetched until the page has hydrated,
// raw and compressed (brotli quality 11 and gzip 9, as the server's precompressed files
// are), beside the WASM of the whole client (SITE_ROOT/pkg, default ../target/site). Also
// checks that the server sent them compressed and cacheable. Run from end2end/:
//   cd end2end && node ../bench/first_load.mjs
import { createRequire } from "node:module";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

const { chromium } = createRequire(path.join(process.cwd(), "x.js"))("@playwright/test");
const base = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const siteRoot = process.env.SITE_ROOT ?? path.join(process.cwd(), "..", "target", "site");

const br = (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(0)} KB`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ baseURL: base });
const page = await context.newPage();
await page.goto("/signup");
await page.locator("body[data-hydrated]").waitFor();
await page.getByLabel("Email").fill(`first-load-${Date.now()}@example.com`);
await page.getByLabel("Password").fill("violet-harbour-87");
await page.getByRole("button", { name: "Create account" }).click();
await page.getByRole("heading", { name: "Home" }).waitFor();

// A new tab of the same browser profile with an empty cache, per page, cold: the page a
// signed-in user lands on (Home), then the library.
async function coldLoad(pathname, label) {
  const cold = await context.newPage();
  const cdp = await context.newCDPSession(cold);
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const fetched = [];
  cold.on("response", async (res) => {
    const url = res.url();
    if (!/\.(wasm|js)(\?|$)/.test(url)) return;
    const headers = res.headers();
    try {
      const body = await res.body();
      fetched.push({ url, body, encoding: headers["content-encoding"] ?? "identity", cache: headers["cache-control"] ?? "" });
    } catch { /* a preload the page never used */ }
  });
  await cold.goto(pathname);
  await cold.locator("body[data-hydrated]").waitFor({ timeout: 60_000 });
  await cold.waitForLoadState("networkidle");
  await cold.close();
  const wasm = fetched.filter((f) => /\.wasm(\?|$)/.test(f.url));
  const js = fetched.filter((f) => /\.js(\?|$)/.test(f.url));
  const sum = (list, fn) => list.reduce((n, f) => n + fn(f.body), 0);
  if (process.env.VERBOSE) {
    for (const f of fetched) {
      console.log(`  ${path.basename(new URL(f.url).pathname)}: ${kb(f.body.length)} raw, sent ${f.encoding}, cache-control "${f.cache}"`);
    }
  }
  console.log(`${label} WASM (${wasm.length} files): raw ${kb(sum(wasm, (b) => b.length))}, brotli ${kb(sum(wasm, br))}, gzip ${kb(sum(wasm, gz))}`);
  console.log(`${label} JS (${js.length} files): raw ${kb(sum(js, (b) => b.length))}, brotli ${kb(sum(js, br))}`);
  return fetched;
}
const fetched = [...await coldLoad("/", "first page"), ...await coldLoad("/library", "library page")];
const pkg = path.join(siteRoot, "pkg");
if (fs.existsSync(pkg)) {
  const all = fs.readdirSync(pkg).filter((n) => n.endsWith(".wasm")).map((n) => fs.readFileSync(path.join(pkg, n)));
  const total = (fn) => all.reduce((n, b) => n + fn(b), 0);
  console.log(`whole client WASM (${all.length} files): raw ${kb(total((b) => b.length))}, brotli ${kb(total(br))}, gzip ${kb(total(gz))}`);
}
const uncompressed = fetched.filter((f) => f.encoding === "identity");
const uncached = fetched.filter((f) => !f.cache.includes("immutable"));
if (uncompressed.length || uncached.length) {
  console.log(`WARNING: ${uncompressed.length} file(s) sent uncompressed, ${uncached.length} without immutable caching`);
}
await browser.close();

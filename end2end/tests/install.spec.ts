import { chromium } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test, expect, Page } from "./fixtures";
import { hydrated, signUp, uniqueEmail } from "./helpers";

test("Refrain installs as an app: its manifest, a service worker in control, and Chromium's own verdict", async ({ request, baseURL }, testInfo) => {
  const res = await request.get("/manifest.webmanifest");
  expect(res.ok()).toBe(true);
  expect(res.headers()["content-type"]).toContain("application/manifest+json");
  const manifest = await res.json();
  expect(manifest.display).toBe("standalone");
  expect(manifest.icons.map((i: { sizes: string; purpose: string }) => `${i.sizes} ${i.purpose}`))
    .toEqual(["192x192 any", "512x512 any", "512x512 maskable"]);
  expect(manifest.shortcuts.map((s: { url: string }) => s.url)).toEqual(["/search", "/liked"]);
  for (const icon of manifest.icons) {
    const png = await request.get(icon.src);
    expect(png.headers()["content-type"]).toBe("image/png");
  }
  const sw = await request.get("/sw.js");
  expect(sw.headers()["content-type"]).toContain("text/javascript");
  expect(sw.headers()["cache-control"]).toBe("no-cache");

  // A browser profile of its own: Chromium never offers to install from an incognito
  // window, which Playwright's usual contexts are.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-profile-"));
  const context = await chromium.launchPersistentContext(profile, { ...testInfo.project.use.launchOptions, baseURL });
  try {
    await installable(context.pages()[0] ?? (await context.newPage()));
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});

async function installable(page: Page) {
  await signUp(page, uniqueEmail("install"));
  await hydrated(page);
  // The hydrated client registered the worker; it installs (precaching the shell) and
  // takes control of the page.
  await page.waitForFunction(async () => (await navigator.serviceWorker.ready).active?.state === "activated");
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  const cdp = await page.context().newCDPSession(page);
  const { errors } = await cdp.send("Page.getAppManifest");
  expect(errors).toEqual([]);
  // What Chromium itself says stands between this page and "Install app": nothing.
  await expect
    .poll(async () => (await cdp.send("Page.getInstallabilityErrors")).installabilityErrors.map((e) => e.errorId))
    .toEqual([]);
  // The shell is cached under this build's name; no page with the user's data is.
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const urls: string[] = [];
    for (const n of names) for (const r of await (await caches.open(n)).keys()) urls.push(new URL(r.url).pathname);
    return { names, urls };
  });
  expect(cached.names).toHaveLength(1);
  expect(cached.names[0]).toMatch(/^refrain-shell-[0-9a-f]{16}$/);
  expect(cached.urls).toContain("/offline");
  expect(cached.urls.some((u) => u.startsWith("/pkg/") && u.endsWith(".wasm"))).toBe(true);
  expect(cached.urls.filter((u) => !u.startsWith("/pkg/") && !u.startsWith("/icons/")).sort())
    .toEqual(["/favicon.svg", "/manifest.webmanifest", "/offline"]);
}

test("without the network a page opens Refrain's offline page, not the browser's error", async ({ page, context }) => {
  await signUp(page, uniqueEmail("offline"));
  await hydrated(page);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByTestId("offline")).toBeVisible();
  await expect(page.getByRole("heading", { name: "You're offline" })).toBeVisible();
  await context.setOffline(false);
  await page.getByRole("link", { name: "Try again" }).click();
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
});

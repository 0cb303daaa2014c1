import { spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test, expect } from "./fixtures";
import { PASSWORD, uniqueEmail } from "./helpers";

// This test runs its own server (embedded default, on a port of its own) so that it can
// deploy a second build under the page: the same files with one shell file changed.
const PORT = 3179;
const BASE = `http://127.0.0.1:${PORT}`;
const REPO = path.resolve(__dirname, "../..");
const BIN = process.env.REFRAIN_BIN ?? path.join(REPO, "target/release/refrain");
const SITE = process.env.REFRAIN_SITE_ROOT ?? path.join(REPO, "target/site");

async function serve(siteRoot: string, dataDir: string): Promise<ChildProcess> {
  const server = spawn(BIN, [], {
    // Only what the embedded default needs (the scaled-out pass exports its servers'
    // settings, which this one must not take).
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      REFRAIN_PORT: String(PORT),
      REFRAIN_DATA_DIR: dataDir,
      REFRAIN_SITE_ROOT: siteRoot,
      RUST_LOG: "warn",
    },
    stdio: "ignore",
  });
  await expect.poll(async () => {
    try {
      return (await fetch(`${BASE}/healthz`)).ok;
    } catch {
      return false;
    }
  }, { timeout: 60_000 }).toBe(true);
  return server;
}

async function stop(server: ChildProcess) {
  const exited = new Promise((done) => server.once("exit", done));
  server.kill("SIGKILL");
  await exited;
}

test("a new deploy offers “A new version is ready”, and Reload brings it in whole", async ({ page }) => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-update-"));
  // The next build: a copy of this one with a changed icon (any shell file changes the
  // service worker's version).
  const next = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-site-"));
  fs.cpSync(SITE, next, { recursive: true });
  fs.appendFileSync(path.join(next, "favicon.svg"), "\n<!-- the next build -->\n");

  let server = await serve(SITE, data);
  try {
    await page.goto(`${BASE}/signup`);
    await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
    await page.getByLabel("Email").fill(uniqueEmail("update"));
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    const shells = () => page.evaluate(async () => (await caches.keys()).filter((n) => n.startsWith("refrain-shell-")));
    const first = await shells();
    expect(first).toHaveLength(1);
    await expect(page.getByTestId("update-prompt")).toHaveCount(0);

    // Deployed; the next page the browser opens checks for a new worker. (The login page:
    // the restart signed the page out, as sessions of the embedded default live in the
    // process, and a signed-in page would go there by itself.)
    await stop(server);
    server = await serve(next, data);
    await page.goto(`${BASE}/login`);
    await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
    const prompt = page.getByTestId("update-prompt");
    await expect(prompt).toContainText("A new version of Refrain is ready");
    // The new shell is cached beside the old; the page still runs the old one.
    await expect.poll(shells).toHaveLength(2);

    const reloaded = page.waitForEvent("framenavigated");
    await prompt.getByRole("button", { name: "Reload" }).click();
    await reloaded;
    await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
    // After the reload the new worker is in control and only its shell is left.
    await expect.poll(shells, { timeout: 30_000 }).toEqual([expect.not.stringMatching(first[0])]);
    await expect(prompt).toHaveCount(0);
  } finally {
    await stop(server);
    fs.rmSync(next, { recursive: true, force: true });
  }
});

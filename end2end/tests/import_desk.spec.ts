import { test, expect } from "./fixtures";
import * as fs from "node:fs";
import * as http from "node:http";
import { asAdmin, hydrated, signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

// A site that is down for the first request and up afterwards; on the server's
// REFRAIN_IMPORT_ALLOW_HOSTS (playwright.config.ts and scripts/test.sh).
const PORT = 3191;

test("an admin retries a failed import from the desk and the listener gets the track", async ({ page, browser }) => {
  const name = `flaky-${Date.now()}.mp3`;
  const mp3 = fs.readFileSync(synthMp3(name, { title: "Comeback Song", artist: "Flaky Site" }, 6));
  let requests = 0;
  const server = http.createServer((req, res) => {
    if (req.url === `/${name}` && requests++ > 0) {
      res.writeHead(200, { "Content-Type": "audio/mpeg", "Content-Length": mp3.length });
      res.end(mp3);
    } else {
      res.writeHead(503);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(PORT, "127.0.0.1", ok));
  try {
    const email = uniqueEmail("flaky");
    await signUp(page, email);
    await toLibrary(page);
    await page.getByTestId("import-link").fill(`http://127.0.0.1:${PORT}/${name}`);
    await page.getByRole("button", { name: "Import", exact: true }).click();
    const mine = page.locator(`.import[data-state]`, { hasText: name });
    await expect(mine).toHaveAttribute("data-state", "failed", { timeout: 60_000 });
    await expect(mine).toContainText("503");

    const admin = await (await browser.newContext()).newPage();
    await asAdmin(admin);
    await admin.getByRole("link", { name: "Admin" }).click();
    await hydrated(admin);
    const desk = admin.getByTestId("import-desk");
    await desk.getByRole("button", { name: /^Failed \d+$/ }).click();
    const row = desk.locator(".desk-row", { hasText: name });
    await expect(row).toContainText(email);
    await expect(row).toContainText("Link");
    await desk.screenshot({ path: "test-results/import-desk.png" });
    await row.getByRole("button", { name: `Try ${name} again` }).click();
    await desk.getByRole("button", { name: /^All \d+$/ }).click();
    await expect(desk.locator(".desk-row", { hasText: name })).toHaveAttribute("data-state", "done", { timeout: 60_000 });

    await page.reload();
    const track = page.locator(".track-row", { hasText: "Comeback Song" });
    await expect(track).toBeVisible();
    await hydrated(page);
    await track.hover();
    await page.getByRole("button", { name: "Play Comeback Song" }).click();
    await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 1.0);
    expect(requests).toBe(2);
  } finally {
    server.close();
  }
});

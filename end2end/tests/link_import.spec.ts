import { test, expect } from "./fixtures";
import * as fs from "node:fs";
import * as http from "node:http";
import { hydrated, signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

// A site standing in for the internet: the server's REFRAIN_IMPORT_ALLOW_HOSTS names it
// (playwright.config.ts and scripts/test.sh), since links to loopback are refused otherwise.
const PORT = 3190;

test("a listener imports a track from a link and plays it; an internal link is refused", async ({ page }) => {
  const mp3 = fs.readFileSync(synthMp3("linked.mp3", { title: "Linked Lullaby", artist: "Remote Band" }, 12));
  const server = http.createServer((req, res) => {
    if (req.url === "/music/linked-lullaby.mp3") {
      res.writeHead(200, { "Content-Type": "audio/mpeg", "Content-Length": mp3.length });
      res.end(mp3);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(PORT, "127.0.0.1", ok));
  try {
    await signUp(page, uniqueEmail("linker"));
    await toLibrary(page);
    // Not on the allow-list: refused at once, with the reason.
    await page.getByTestId("import-link").fill("http://127.0.0.1/secret.mp3");
    await page.getByRole("button", { name: "Import", exact: true }).click();
    await expect(page.getByTestId("import-link-error")).toContainText("loopback");

    await page.getByTestId("import-link").fill(`http://127.0.0.1:${PORT}/music/linked-lullaby.mp3`);
    await page.getByRole("button", { name: "Import", exact: true }).click();
    const row = page.locator(".track-row", { hasText: "Linked Lullaby" });
    await expect(row).toBeVisible({ timeout: 60_000 });
    await expect(row).toContainText("Remote Band");
    await row.hover();
    await page.getByRole("button", { name: "Play Linked Lullaby" }).click();
    await page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 1.0);
    await page.screenshot({ path: "test-results/link-import.png", fullPage: true });
  } finally {
    server.close();
  }
});

import { test, expect } from "./fixtures";
import * as path from "node:path";
import { signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

// Runs only in the scaled-out pass of scripts/test.sh: two server nodes and a separate
// worker on PostgreSQL, Redis, Kafka and S3. BASE_URL is node one, E2E_SECOND_URL node two.
const second = process.env.E2E_SECOND_URL;

test("log in on one node, upload there, watch the job and play through the other node", async ({ page }) => {
  test.skip(!second, "scaled-out pass only");
  const title = `Two Nodes ${Date.now()}`;
  const file = synthMp3("two-nodes.mp3", { title, artist: "The Replicas" }, 20);
  await signUp(page, uniqueEmail("scaled"));
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(file);
  await expect(page.locator(".upload", { hasText: "two-nodes.mp3" })).toContainText("Uploaded");

  // Same browser, other node: the session lives in Redis, so this is the same login.
  const other = await page.context().newPage();
  await other.goto(`${second}/library`);
  await expect(other.getByRole("heading", { name: "Library" })).toBeVisible();
  const job = other.locator("li.import", { hasText: path.basename(file) });
  await expect(job).toHaveAttribute("data-state", "done", { timeout: 90_000 });
  // And the first node shows the same progress.
  await expect(page.locator("li.import", { hasText: path.basename(file) })).toHaveAttribute("data-state", "done");

  const row = other.locator(".track-row", { hasText: title });
  await row.hover();
  await other.getByRole("button", { name: `Play ${title}` }).click();
  await other.waitForFunction(() => {
    const a = document.querySelector("audio") as HTMLAudioElement;
    return a.src.startsWith("blob:") && a.currentTime > 1;
  });
});

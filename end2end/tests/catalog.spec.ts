import { test, expect } from "./fixtures";
import { asAdmin, hydrated, letters, signUp, synthMp3, synthPng, toLibrary, uniqueEmail } from "./helpers";

test("an admin edits an album and a track, and every listener sees it at once", async ({ page, browser }) => {
  const tag = letters(6);
  const band = `Editors ${tag}`;
  const draft = `Draft Album ${tag}`;
  const final = `Final Album ${tag}`;
  await asAdmin(page);
  await toLibrary(page);
  // Admin uploads go to the shared catalog.
  await page.getByTestId("upload-input").setInputFiles([
    synthMp3("one.mp3", { title: `First Take ${tag}`, artist: band, album: draft, track: "1" }, 4),
    synthMp3("two.mp3", { title: `Second Take ${tag}`, artist: band, album: draft, track: "2" }, 4),
  ]);
  const first = page.locator(".track-row", { hasText: `First Take ${tag}` });
  await expect(first).toBeVisible({ timeout: 60_000 });
  await expect(page.locator(".track-row", { hasText: `Second Take ${tag}` })).toBeVisible({ timeout: 60_000 });

  await first.getByRole("link", { name: draft }).click();
  await expect(page.getByTestId("album-title")).toHaveText(draft);
  await page.getByTestId("edit-album").click();
  await hydrated(page);
  const form = page.getByTestId("album-form");
  await form.getByLabel("Title").fill(final);
  await form.getByLabel("Year").fill("2026");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form.getByRole("status")).toHaveText("Saved.");
  await page.getByTestId("cover-input").setInputFiles(synthPng("cover.png", "purple", "600x400"));
  await expect(page.locator(".hero img.cover")).toBeVisible();
  await page.screenshot({ path: "test-results/album-edit.png", fullPage: true });

  // A track's own details, from its ⋯ menu on the album page.
  await page.getByRole("link", { name: "Back to the album" }).click();
  await expect(page.getByTestId("album-title")).toHaveText(final);
  await hydrated(page);
  await page.getByLabel(`More for Second Take ${tag}`).click();
  await page.getByRole("menuitem", { name: "Edit details…" }).click();
  const trackForm = page.getByTestId("track-form");
  await trackForm.getByLabel("Title").fill(`Second Take (Live) ${tag}`);
  await trackForm.getByLabel("Genre").fill("Live");
  await trackForm.getByRole("button", { name: "Save" }).click();
  await expect(trackForm.getByRole("status")).toHaveText("Saved.");

  // Another listener sees the new names everywhere: search, albums, the album, rows.
  const listener = await (await browser.newContext()).newPage();
  await signUp(listener, uniqueEmail("reader"));
  await listener.goto(`/search?q=${encodeURIComponent(final)}`);
  const albumCard = listener.locator(".card", { hasText: final });
  await expect(albumCard).toBeVisible();
  await expect(albumCard.locator("img.cover")).toBeVisible();
  await listener.goto(`/search?q=${encodeURIComponent(draft)}`);
  await expect(listener.locator(".card", { hasText: draft })).toHaveCount(0);
  await listener.goto("/albums");
  await expect(listener.getByText(final)).toBeVisible();
  await expect(listener.getByText(draft)).toHaveCount(0);
  await listener.goto("/library");
  const row = listener.locator(".track-row", { hasText: `Second Take (Live) ${tag}` });
  await expect(row).toContainText(final);
  // Nothing to edit for a listener.
  await row.getByRole("link", { name: final }).click();
  await expect(listener.getByTestId("album-title")).toHaveText(final);
  await expect(listener.locator(".hero-text")).toContainText("2026");
  await expect(listener.getByTestId("edit-album")).toHaveCount(0);
  await listener.screenshot({ path: "test-results/album-seen-by-listener.png", fullPage: true });
});

test("an admin sets one field on several selected tracks", async ({ page }) => {
  const tag = letters(6);
  await asAdmin(page);
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles([
    synthMp3("a.mp3", { title: `Loose A ${tag}`, artist: `Loose ${tag}` }, 3),
    synthMp3("b.mp3", { title: `Loose B ${tag}`, artist: `Loose ${tag}` }, 3),
  ]);
  const a = page.locator(".track-row", { hasText: `Loose A ${tag}` });
  const b = page.locator(".track-row", { hasText: `Loose B ${tag}` });
  await expect(a).toBeVisible({ timeout: 60_000 });
  await expect(b).toBeVisible({ timeout: 60_000 });
  const bar = page.getByTestId("bulk-bar");
  // Other tests share this admin: when one of their imports finishes, the list reloads and
  // the selection starts again, so select until both stay selected.
  await expect(async () => {
    await a.getByLabel(`Select Loose A ${tag}`).check();
    await b.getByLabel(`Select Loose B ${tag}`).check();
    await expect(bar).toContainText("2 selected", { timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  await bar.getByTestId("bulk-field").selectOption("album");
  await bar.getByTestId("bulk-value").fill(`Gathered ${tag}`);
  await bar.getByRole("button", { name: "Apply" }).click();
  await expect(bar).toBeHidden();
  await expect(a).toContainText(`Gathered ${tag}`);
  await expect(b).toContainText(`Gathered ${tag}`);
  await a.getByRole("link", { name: `Gathered ${tag}` }).click();
  await expect(page.getByTestId("album-title")).toHaveText(`Gathered ${tag}`);
  await expect(page.locator(".track-row:not(.head)")).toHaveCount(2);
});

import { test, expect, Page } from "./fixtures";
import { hydrated, letters, signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

const playing = (page: Page) =>
  page.waitForFunction(() => (document.querySelector("audio") as HTMLAudioElement).currentTime > 0);

test("desktop habits: double-click and Enter play a row, right-click opens its menu where the pointer is", async ({ page }) => {
  const tag = letters(6);
  const titles = ["Dial", "Echo", "Fern"].map((t) => `${t} ${tag}`);
  await signUp(page, uniqueEmail("habits"));
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(
    titles.map((t, i) => synthMp3(`habit-${i}.mp3`, { title: t, artist: `Habitual ${tag}` }, 4)),
  );
  const row = (t: string) => page.locator(".track-row", { hasText: t });
  for (const t of titles) await expect(row(t)).toBeVisible({ timeout: 60_000 });
  await hydrated(page);

  // Double-click anywhere on the row (not on a control) plays it.
  await row(titles[1]).locator(".track-title").dblclick();
  await expect(page.getByTestId("np-title")).toHaveText(titles[1]);
  await playing(page);

  // Enter on the focused row plays it.
  await row(titles[2]).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("np-title")).toHaveText(titles[2]);

  // A plain click only focuses: nothing starts and nothing is selected.
  await row(titles[0]).locator(".track-title").click();
  await expect(page.getByTestId("np-title")).toHaveText(titles[2]);
  await expect(page.getByTestId("bulk-bar")).toBeHidden();

  // Right-click opens the row's own menu at the pointer, not the browser's.
  const title = row(titles[0]).locator(".track-title");
  const box = (await title.boundingBox())!;
  await title.click({ button: "right", position: { x: 10, y: 5 } });
  const menu = row(titles[0]).getByTestId("track-menu");
  await expect(menu).toBeVisible();
  // Its corner is at the pointer: the top left, or the bottom left where the window ends
  // below it.
  const at = (await menu.boundingBox())!;
  const [px, py] = [box.x + 10, box.y + 5];
  expect(Math.abs(at.x - px)).toBeLessThan(4);
  expect(Math.min(Math.abs(at.y - py), Math.abs(at.y + at.height - py))).toBeLessThan(4);
  // A click anywhere else closes it.
  await page.mouse.click(box.x + box.width / 2, 20);
  await expect(menu).toBeHidden();
  await title.click({ button: "right" });
  await expect(menu).toBeVisible();
  await menu.getByRole("menuitem", { name: "Add to queue" }).click();
  await expect(menu).toBeHidden();
  await page.getByTestId("queue-link").click();
  await expect(page.getByTestId("up-next")).toContainText(titles[0]);
});

test("selected rows go to a playlist and to the queue together, in list order", async ({ page }) => {
  const tag = letters(6);
  // The tag first: sorted by title, these four are next to each other whatever else the
  // shared catalog holds.
  const titles = ["Gull", "Heron", "Ibis", "Jay"].map((t) => `${tag} ${t}`);
  await signUp(page, uniqueEmail("select"));
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles(
    titles.map((t, i) => synthMp3(`select-${i}.mp3`, { title: t, artist: `Birds ${tag}` }, 3)),
  );
  for (const t of titles) await expect(page.locator(".track-row", { hasText: t })).toBeVisible({ timeout: 60_000 });
  // Sorted by title, so the order on screen is known.
  await hydrated(page);
  await page.getByTestId("sort").selectOption("title");
  await expect(page).toHaveURL(/sort=title&order=asc/);
  const row = (t: string) => page.locator(".track-row", { hasText: t });
  await expect(page.locator(".track-row:not(.head)", { hasText: tag }).locator(".track-title")).toHaveText(titles);
  await hydrated(page);

  // Ctrl-click picks single rows, Shift-click the range from the last one picked.
  const bar = page.getByTestId("bulk-bar");
  await row(titles[0]).locator(".track-title").click({ modifiers: ["Control"] });
  await expect(bar).toContainText("1 selected");
  await row(titles[2]).locator(".track-title").click({ modifiers: ["Shift"] });
  await expect(bar).toContainText("3 selected");
  await expect(row(titles[1])).toHaveAttribute("aria-selected", "true");
  await expect(row(titles[3])).toHaveAttribute("aria-selected", "false");
  // Ctrl-click again takes one out; the checkbox puts one in.
  await row(titles[1]).locator(".track-title").click({ modifiers: ["Control"] });
  await expect(bar).toContainText("2 selected");
  await row(titles[3]).getByLabel(`Select ${titles[3]}`).check();
  await expect(bar).toContainText("3 selected");

  // Into a new playlist, in list order.
  await bar.getByTestId("selection-playlist").click();
  const created = page.waitForResponse((r) => r.url().includes("/api/add_to_playlist") && r.ok());
  await bar.getByRole("menuitem", { name: "New playlist…" }).click();
  await created;
  await expect(bar).toBeHidden();
  await page.getByTestId("sidebar-playlists").getByRole("link").first().click();
  await expect(page.getByTestId("playlist-tracks").locator(".track-title")).toHaveText([titles[0], titles[2], titles[3]]);
  await hydrated(page);

  // From the playlist: select two rows and queue them after the current track.
  await page.getByTestId("playlist-row").nth(0).locator(".play-btn").click();
  await expect(page.getByTestId("np-title")).toHaveText(titles[0]);
  const prow = (t: string) => page.getByTestId("playlist-row").filter({ hasText: t });
  await prow(titles[3]).locator(".track-title").click({ modifiers: ["Control"] });
  await prow(titles[2]).locator(".track-title").click({ modifiers: ["Control"] });
  await page.getByTestId("bulk-bar").getByTestId("selection-next").click();
  await expect(page.getByTestId("bulk-bar")).toBeHidden();
  await page.getByTestId("queue-link").click();
  // Played next, in the playlist's order (Ibis before Jay), ahead of the rest of the list.
  await expect(page.getByTestId("up-next").locator(".track-title")).toHaveText([titles[2], titles[3], titles[2], titles[3]]);
});

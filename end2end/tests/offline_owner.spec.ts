import { test, expect, Page } from "./fixtures";
import { PASSWORD, hydrated, letters, logInWithPassword, signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

// Downloads belong to one user, and only while that user's session lasts (issue 34).

const row = (page: Page, title: string) => page.locator(".track-row", { hasText: title });

/** What the downloads' cache holds: its entries' paths. */
async function stored(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    if (!(await caches.has("refrain-media"))) return [];
    const c = await caches.open("refrain-media");
    return (await c.keys()).map((r) => new URL(r.url).pathname);
  });
}

/** Signs up `email` on `page`, uploads a two-track album and downloads it; returns the album's
 * name and what the cache holds then. */
async function downloadedAlbum(page: Page, email: string) {
  const tag = letters(6);
  const album = `Mine ${tag}`;
  const [one, two] = [`Owned One ${tag}`, `Owned Two ${tag}`];
  await signUp(page, email);
  await toLibrary(page);
  await page.getByTestId("upload-input").setInputFiles([
    synthMp3("own-1.mp3", { title: one, artist: `Holder ${tag}`, album, track: "1" }, 3),
    synthMp3("own-2.mp3", { title: two, artist: `Holder ${tag}`, album, track: "2" }, 3),
  ]);
  for (const t of [one, two]) await expect(row(page, t)).toBeVisible({ timeout: 60_000 });
  await hydrated(page);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await row(page, one).locator(".col-album a").click();
  await expect(page.getByTestId("album-title")).toHaveText(album);
  await hydrated(page);
  const button = page.getByTestId("download");
  await button.getByRole("button", { name: /^Download$/ }).click();
  await expect(button.locator("[data-state=downloaded]")).toBeVisible({ timeout: 60_000 });
  const keys = await stored(page);
  expect(keys.filter((k) => k.startsWith("/offline/media/"))).toHaveLength(2);
  // The owner is recorded with them: the user's id, which is no secret (never a token).
  expect(keys).toContain("/offline/owner");
  const owner = await page.evaluate(async () => (await (await caches.open("refrain-media")).match("/offline/owner"))!.text());
  expect(owner).toBe(await page.evaluate(() => localStorage.getItem("refrain.signed-in-as")));
  expect(owner).toMatch(/^[0-9a-f-]{36}$/);
  return { album, keys };
}

/** The offline page lists nothing, with the network and without it (served by the service
 * worker then). */
async function offlineListsNothing(page: Page, album: string) {
  await page.goto("/offline");
  await hydrated(page);
  await expect(page.getByTestId("offline-empty")).toBeVisible();
  await page.context().setOffline(true);
  await page.reload();
  await expect(page).toHaveURL(/\/offline$/);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "You're offline" })).toBeVisible();
  await expect(page.getByTestId("offline-empty")).toBeVisible();
  await expect(page.locator(".offline-download", { hasText: album })).toHaveCount(0);
  expect(await stored(page)).toEqual([]);
  await page.context().setOffline(false);
}

test("a session ended elsewhere wipes the downloads at the page's next server contact, and the offline page lists nothing", async ({ page, browser }) => {
  const email = uniqueEmail("owner");
  const { album } = await downloadedAlbum(page, email);

  // The same user, on another device, logs out everywhere else.
  const other = await (await browser.newContext()).newPage();
  await other.goto("/login");
  await hydrated(other);
  await logInWithPassword(other, email);
  await expect(other.getByRole("heading", { name: "Home" })).toBeVisible();
  await other.goto("/settings");
  await hydrated(other);
  await other.getByTestId("end-others").click();
  await expect(other.getByTestId("end-others")).toHaveCount(0);

  // The first browser still shows the album; its next request (a page of the app, loaded
  // without reloading) gets 401, and the downloads and the signed-in user go.
  expect((await stored(page)).length).toBeGreaterThan(0);
  const refused = page.waitForResponse((r) => r.url().includes("/api/") && r.status() === 401);
  await page.getByRole("link", { name: "Library", exact: true }).click();
  await refused;
  await expect.poll(() => stored(page)).toEqual([]);
  expect(await page.evaluate(() => localStorage.getItem("refrain.signed-in-as"))).toBeNull();
  expect(await page.evaluate(() => localStorage.getItem("refrain.has-downloads"))).toBeNull();

  await offlineListsNothing(page, album);
});

test("another user signing in on this browser, the first never having logged out, finds none of the first one's downloads", async ({ page, browser }) => {
  const { album, keys } = await downloadedAlbum(page, uniqueEmail("first"));
  const second = uniqueEmail("second");
  const elsewhere = await (await browser.newContext()).newPage();
  await signUp(elsewhere, second);

  // The first user's cookies go (they never log out) and the second signs in from this
  // browser, with no page of Refrain loading in between.
  await page.context().clearCookies();
  const login = await page.request.get("/login");
  const action = /<form[^>]*action="([^"]*login[^"]*)"/.exec(await login.text())?.[1];
  expect(action).toBeTruthy();
  const signedIn = await page.request.post(action!, { form: { email: second, password: PASSWORD } });
  expect(signedIn.ok()).toBe(true);

  // The first page the second user sees wipes the first one's downloads before it lists
  // or plays anything.
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
  await expect(page.getByTestId("account-name")).toHaveText(second);
  await hydrated(page);
  await expect.poll(async () => (await stored(page)).filter((k) => keys.includes(k))).toEqual([]);
  await page.goto("/settings");
  await hydrated(page);
  await expect(page.getByTestId("downloads-empty")).toBeVisible();

  await offlineListsNothing(page, album);
});

test("a browser whose session is gone wipes its downloads on the login page, before anyone signs in", async ({ page }) => {
  const email = uniqueEmail("expired");
  const { album } = await downloadedAlbum(page, email);
  // As after the session expired: the cookies are gone, and any page leads to the login.
  await page.context().clearCookies();
  await page.goto("/library");
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await expect.poll(() => stored(page)).toEqual([]);
  await offlineListsNothing(page, album);

  // The owner signing in again starts afresh, and downloads work as before.
  await page.goto("/login");
  await hydrated(page);
  await logInWithPassword(page, email);
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
  expect(await page.evaluate(() => localStorage.getItem("refrain.signed-in-as"))).toBeTruthy();
});

import { test, expect } from "./fixtures";
import { PASSWORD, letters, signUp, synthMp3, toLibrary, uniqueEmail } from "./helpers";

// Forms are plain HTML forms underneath: with JavaScript off (or before the WASM loads)
// they still work, and their errors still show.
test.use({ javaScriptEnabled: false });

test("without JavaScript, sign-up and login work and a wrong password says so", async ({ page }) => {
  const email = uniqueEmail("nojs");
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("short");
  // The browser's own checks are bypassed to reach the server's.
  await page.locator("form").evaluate((f: HTMLFormElement) => (f.noValidate = true));
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("alert")).toContainText("stronger password");

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not-the-password-1");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("Wrong email or password");
  await page.screenshot({ path: "test-results/login-error-no-js.png", fullPage: true });

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
});

test("without JavaScript, an admin finds an account, disables and enables it, and changes its role", async ({ browser }) => {
  const victim = uniqueEmail("nojs-admin");
  const visitor = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await visitor.goto("/signup");
  await visitor.getByLabel("Email").fill(victim);
  await visitor.getByLabel("Password").fill(PASSWORD);
  await visitor.getByRole("button", { name: "Create account" }).click();
  await expect(visitor.getByRole("heading", { name: "Home" })).toBeVisible();

  // The admin account (made by whichever test came first).
  const admin = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await admin.goto("/signup");
  await admin.getByLabel("Email").fill("admin@refrain.test");
  await admin.getByLabel("Password").fill(PASSWORD);
  await admin.getByRole("button", { name: "Create account" }).click();
  const home = admin.getByRole("heading", { name: "Home" });
  const taken = admin.getByRole("alert").filter({ hasText: "already exists" });
  await expect(home.or(taken)).toBeVisible();
  if (await taken.isVisible()) {
    await admin.goto("/login");
    await admin.getByLabel("Email").fill("admin@refrain.test");
    await admin.getByLabel("Password").fill(PASSWORD);
    await admin.getByRole("button", { name: "Log in" }).click();
    await expect(home).toBeVisible();
  }

  await admin.goto("/admin");
  await admin.getByTestId("user-search").fill(victim);
  await admin.getByTestId("user-search").press("Enter");
  await expect(admin).toHaveURL(/[?&]q=/);
  const row = admin.locator(".user-row", { hasText: victim });
  await expect(row).toHaveCount(1);
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(row).toContainText("Disabled");
  await row.getByRole("button", { name: "Enable" }).click();
  await expect(row).toContainText("Active");
  await row.getByLabel("Role").selectOption("artist");
  await row.getByRole("button", { name: "Change role" }).click();
  await expect(row.getByLabel("Role")).toHaveValue("artist");
  await expect(admin.getByTestId("audit-log")).toContainText(victim);
});

test("a track is deleted from the list: with JavaScript after a dialog, without it through the track's confirm form", async ({ browser }) => {
  const ctx = await browser.newContext({ javaScriptEnabled: true });
  const page = await ctx.newPage();
  await signUp(page, uniqueEmail("nojs-delete"));
  await toLibrary(page);
  const artist = `Erasers ${letters(5)}`;
  const [first, second] = [`Gone ${letters(6)}`, `Also Gone ${letters(6)}`];
  const files = [synthMp3("gone-1.mp3", { title: first, artist }, 2), synthMp3("gone-2.mp3", { title: second, artist }, 2)];
  await page.getByTestId("upload-input").setInputFiles(files);
  for (const name of ["gone-1.mp3", "gone-2.mp3"]) {
    await expect(page.locator("li.import", { hasText: name })).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  }
  const rows = page.locator(".track-row", { hasText: artist });
  await expect(rows).toHaveCount(2);

  // With JavaScript: the browser's confirm dialog, and the row goes.
  page.once("dialog", (d) => d.accept());
  await page.locator(".track-row", { hasText: first }).hover();
  await page.getByRole("link", { name: `Delete ${first}` }).click();
  await expect(page.locator(".track-row", { hasText: first })).toHaveCount(0);
  await expect(page).toHaveURL(/\/library$/);

  // Without: the ✕ is a link to the track's page, whose form wants the box ticked.
  const nojs = await (await browser.newContext({ javaScriptEnabled: false, storageState: await ctx.storageState() })).newPage();
  await nojs.goto("/library");
  await nojs.getByRole("link", { name: `Delete ${second}` }).click();
  await expect(nojs).toHaveURL(/\/tracks\/[^/]+\/edit#delete$/);
  await nojs.getByRole("button", { name: "Delete track" }).click();
  await expect(nojs).toHaveURL(/#delete$/); // the unticked box stopped the post
  await nojs.getByLabel(/This cannot be undone/).check();
  await nojs.screenshot({ path: "test-results/delete-track-no-js.png", fullPage: true });
  await nojs.getByRole("button", { name: "Delete track" }).click();
  await expect(nojs).toHaveURL(/\/library$/);
  await expect(nojs.locator(".track-row", { hasText: artist })).toHaveCount(0);
});

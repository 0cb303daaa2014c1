import { test, expect } from "./fixtures";
import { PASSWORD, uniqueEmail } from "./helpers";

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

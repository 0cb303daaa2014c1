import { test, expect } from "@playwright/test";
import { hydrated, logInWithPassword, signUp, uniqueEmail } from "./helpers";

// The server under test makes this account its admin (REFRAIN_ADMIN_EMAIL).
const ADMIN = "admin@refrain.test";

test("an admin disabling a user ends that user's session elsewhere, and it is audited", async ({ browser }) => {
  const userPage = await (await browser.newContext()).newPage();
  const adminPage = await (await browser.newContext()).newPage();
  const victim = uniqueEmail("victim");
  await signUp(userPage, victim);
  await signUp(adminPage, ADMIN);

  await adminPage.getByRole("link", { name: "Admin" }).click();
  await expect(adminPage.getByRole("heading", { name: "Users" })).toBeVisible();
  await hydrated(adminPage);
  await adminPage.getByTestId("user-search").fill(victim);
  const row = adminPage.locator(".user-row", { hasText: victim });
  await expect(row).toHaveCount(1);
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(row).toContainText("Disabled");
  await expect(adminPage.getByTestId("audit-log")).toContainText(`${victim} disabled`);
  await adminPage.screenshot({ path: "test-results/admin-users.png", fullPage: true });

  // The victim's open page loses its session at the next request, and cannot log back in.
  await userPage.reload();
  await expect(userPage).toHaveURL(/\/login$/);
  await hydrated(userPage);
  await logInWithPassword(userPage, victim);
  await expect(userPage.getByRole("alert")).toContainText("disabled");

  // Enabled again, the account works.
  await row.getByRole("button", { name: "Enable" }).click();
  await expect(row).toContainText("Active");
  await logInWithPassword(userPage, victim);
  await expect(userPage.getByRole("heading", { name: "Library" })).toBeVisible();
});

test("a listener sees no admin link and the admin page refuses them", async ({ page }) => {
  await signUp(page, uniqueEmail("listener"));
  await expect(page.getByRole("link", { name: "Admin" })).toHaveCount(0);
  await page.goto("/admin");
  await expect(page.getByText("You are not allowed to do that.").first()).toBeVisible();
});

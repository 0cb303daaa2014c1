import { test, expect } from "./fixtures";
import { PASSWORD, asAdmin, hydrated, logInWithPassword, signUp, uniqueEmail } from "./helpers";

test("an admin disabling a user ends that user's session elsewhere, and it is audited", async ({ browser }) => {
  const userPage = await (await browser.newContext()).newPage();
  const adminPage = await (await browser.newContext()).newPage();
  const victim = uniqueEmail("victim");
  await signUp(userPage, victim);
  await asAdmin(adminPage);

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
  await expect(userPage.getByRole("heading", { name: "Home" })).toBeVisible();
});

test("a listener sees no admin link and the admin page refuses them", async ({ page }) => {
  await signUp(page, uniqueEmail("listener"));
  await expect(page.getByRole("link", { name: "Admin" })).toHaveCount(0);
  await page.goto("/admin");
  await expect(page.getByText("You are not allowed to do that.").first()).toBeVisible();
});

test("an artist asks at sign-up, an admin approves, and settings show the artist profile", async ({ browser }) => {
  const artistPage = await (await browser.newContext()).newPage();
  const adminPage = await (await browser.newContext()).newPage();
  const email = uniqueEmail("artist");
  const name = `The Synths ${Math.floor(Math.random() * 1e6)}`;
  await artistPage.goto("/signup");
  await hydrated(artistPage);
  await artistPage.getByLabel("Email").fill(email);
  await artistPage.getByLabel("Password").fill(PASSWORD);
  await artistPage.getByText("I'm an artist").click();
  await artistPage.getByLabel("Artist name").fill(name);
  await artistPage.getByRole("button", { name: "Create account" }).click();
  await expect(artistPage.getByRole("heading", { name: "Home" })).toBeVisible();
  await artistPage.getByRole("link", { name: "Settings" }).click();
  await expect(artistPage.getByTestId("artist-pending")).toContainText(name);

  await asAdmin(adminPage);
  await adminPage.getByRole("link", { name: "Admin" }).click();
  await hydrated(adminPage);
  const request = adminPage.getByTestId("artist-requests").locator(".user-row", { hasText: name });
  await expect(request).toContainText(email);
  await adminPage.locator("section", { has: request }).screenshot({ path: "test-results/admin-artist-requests.png" });
  await request.getByRole("button", { name: "Approve" }).click();
  await expect(request).toHaveCount(0);
  await expect(adminPage.getByTestId("audit-log")).toContainText(`${email} approved as artist`);

  await artistPage.reload();
  await expect(artistPage.getByTestId("artist-profile")).toContainText(name);
  await artistPage.locator("section", { has: artistPage.getByTestId("artist-profile") })
    .screenshot({ path: "test-results/settings-artist.png" });
});

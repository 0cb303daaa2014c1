import { test, expect } from "./fixtures";
import { deliveredMail, hydrated, logInWithPassword, logOut, signUp, uniqueEmail } from "./helpers";

test("a forgotten password is reset through the link in the delivered email", async ({ page }) => {
  const email = uniqueEmail("forgot");
  await signUp(page, email);
  await logOut(page);

  await page.getByRole("link", { name: "Forgot your password?" }).click();
  // The login page has an Email field too: wait for this page (its code loads on first visit).
  await expect(page.getByRole("button", { name: "Send the link" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByTestId("reset-sent")).toBeVisible();

  const mail = await deliveredMail(email, "Reset your Refrain password");
  const token = /\/reset-password\?token=([0-9a-f]+)/.exec(mail)?.[1];
  expect(token).toBeTruthy();
  await page.goto(`/reset-password?token=${token}`);
  await hydrated(page);
  await page.getByLabel("New password").fill("copper-meadow-55");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page.getByTestId("reset-done")).toBeVisible();
  await page.screenshot({ path: "test-results/password-reset.png" });

  // The old password no longer works; the new one does. The link is single-use.
  await page.goto("/login");
  await hydrated(page);
  await logInWithPassword(page, email);
  await expect(page.getByRole("alert")).toContainText("Wrong email or password");
  await page.getByLabel("Password").fill("copper-meadow-55");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
  await logOut(page);
  await page.goto(`/reset-password?token=${token}`);
  await hydrated(page);
  await page.getByLabel("New password").fill("copper-meadow-56");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page.getByRole("alert")).toContainText("already used or has expired");
});

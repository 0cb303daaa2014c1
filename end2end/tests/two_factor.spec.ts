import { test, expect } from "./fixtures";
import { hydrated, logInWithPassword, logOut, signUp, totpCode, uniqueEmail } from "./helpers";

test("two-factor: enroll from the QR page, log in with a code, then with a recovery code", async ({ page }) => {
  const email = uniqueEmail("totp");
  await signUp(page, email);
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
  await expect(page.getByTestId("two-factor-state")).toContainText("Off");
  await page.getByTestId("enable-2fa").click();
  await expect(page.locator(".qr svg")).toBeVisible();
  const secret = (await page.getByTestId("totp-secret").innerText()).trim();
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);

  // A wrong code is refused with a message; the right one turns 2FA on.
  await page.getByTestId("enroll-code").fill(totpCode(secret, Date.now() / 1000 - 600));
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByRole("alert")).toContainText("not valid");
  await page.getByTestId("enroll-code").fill(totpCode(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByTestId("two-factor-state")).toContainText("On");
  const codes = await page.getByTestId("recovery-codes").locator("li").allInnerTexts();
  expect(codes).toHaveLength(10);
  await page.screenshot({ path: "test-results/two-factor-enabled.png", fullPage: true });

  // The password alone is not enough; the next code (one step ahead) completes the login.
  await logOut(page);
  await logInWithPassword(page, email);
  await expect(page.getByTestId("login-code")).toBeVisible();
  await page.screenshot({ path: "test-results/two-factor-login.png" });
  await page.getByTestId("login-code").fill(totpCode(secret, Date.now() / 1000 + 30));
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();

  // A recovery code works once.
  const withRecoveryCode = async (code: string) => {
    await logInWithPassword(page, email);
    await page.getByTestId("use-recovery").click();
    await page.getByTestId("login-code").fill(code.trim());
    await page.getByRole("button", { name: "Continue" }).click();
  };
  await logOut(page);
  await withRecoveryCode(codes[0]);
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
  await logOut(page);
  await withRecoveryCode(codes[0]);
  await expect(page.getByRole("alert")).toContainText("not valid");
  await hydrated(page);
});

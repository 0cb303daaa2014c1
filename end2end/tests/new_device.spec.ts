import { test, expect } from "./fixtures";
import { deliveredMail, hydrated, logInWithPassword, signUp, uniqueEmail } from "./helpers";

const PHONE_FIREFOX = "Mozilla/5.0 (Android 14; Mobile; rv:140.0) Gecko/140.0 Firefox/140.0";

test("a new account is welcomed; a sign-in from a new device is reported, and its link ends that session", async ({ page, browser }) => {
  const email = uniqueEmail("newdevice");
  await signUp(page, email);
  // The welcome arrives through the outbox, the worker and SMTP.
  const welcome = await deliveredMail(email, "Welcome to Refrain");
  expect(welcome).toContain("Your account is ready");

  // Someone signs in on a phone the account has never been used on.
  const phone = await browser.newContext({ userAgent: PHONE_FIREFOX });
  const stranger = await phone.newPage();
  await stranger.goto("/login");
  await hydrated(stranger);
  await logInWithPassword(stranger, email);
  await expect(stranger.getByRole("heading", { name: "Home" })).toBeVisible();

  const notice = await deliveredMail(email, "New sign-in to your Refrain account");
  expect(notice).toContain("Firefox on Android");
  const token = /\/end-session\?token=([0-9a-f]+)/.exec(notice)?.[1];
  expect(token).toBeTruthy();

  // Opening the link changes nothing (mail scanners open links); the button ends it.
  await page.goto(`/end-session?token=${token}`);
  await hydrated(page);
  await stranger.reload();
  await expect(stranger.getByRole("heading", { name: "Home" })).toBeVisible();
  await page.getByTestId("end-session").click();
  await expect(page.getByTestId("session-ended")).toBeVisible();

  // The phone is signed out; this browser is not.
  await stranger.goto("/library");
  await expect(stranger).toHaveURL(/\/login/);
  await page.goto("/library");
  await expect(page.getByRole("heading", { name: "Library" })).toBeVisible();

  // The link works once.
  await page.goto(`/end-session?token=${token}`);
  await hydrated(page);
  await page.getByTestId("end-session").click();
  await expect(page.getByRole("alert")).toContainText("already used or has expired");
  await phone.close();
});

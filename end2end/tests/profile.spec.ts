import { test, expect } from "./fixtures";
import { hydrated, signUp, synthPng, textFile, uniqueEmail } from "./helpers";

test("a display name set in settings replaces the email in the sidebar", async ({ page }) => {
  const email = uniqueEmail("named");
  await signUp(page, email);
  await expect(page.getByTestId("account-name")).toHaveText(email);
  await page.getByRole("link", { name: "Settings" }).click();
  await hydrated(page);
  await page.getByLabel("Display name").fill("Ada Lovelace");
  await page.getByRole("button", { name: "Save" }).first().click();
  await expect(page.getByRole("status").filter({ hasText: "Saved" })).toBeVisible();
  await page.reload();
  await expect(page.getByTestId("account-name")).toHaveText("Ada Lovelace");
});

test("a profile picture uploaded in settings shows in the sidebar and survives a reload", async ({ page }) => {
  await signUp(page, uniqueEmail("face"));
  // Without a picture, the sidebar shows the first letter of the name.
  await expect(page.locator(".sidebar .avatar-initial")).toHaveText("F");
  await page.getByRole("link", { name: "Settings" }).click();
  await hydrated(page);
  await page.getByTestId("avatar-input").setInputFiles(synthPng("me.png"));
  const sidebarPicture = page.locator(".sidebar img.avatar");
  await expect(sidebarPicture).toHaveAttribute("src", /\/avatars\/.+\?v=/);
  await expect
    .poll(() => sidebarPicture.evaluate((img: HTMLImageElement) => img.naturalWidth))
    .toBe(256);
  await page.screenshot({ path: "test-results/settings-profile.png", fullPage: true });
  await page.reload();
  await expect(page.locator(".sidebar img.avatar")).toBeVisible();

  // A file that is not a picture is refused with a reason; the picture stays.
  await hydrated(page);
  await page.getByTestId("avatar-input").setInputFiles(textFile("notes.png", "just text"));
  await expect(page.getByRole("alert")).toContainText("not a picture");
  await expect(page.locator(".sidebar img.avatar")).toBeVisible();

  await page.getByRole("button", { name: "Remove" }).click();
  await expect(page.locator(".sidebar .avatar-initial")).toBeVisible();
});

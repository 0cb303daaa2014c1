import { test, expect } from "@playwright/test";
import { hydrated, signUp, uniqueEmail } from "./helpers";

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

import { test, expect } from "./fixtures";
import { PASSWORD, hydrated, signUp, uniqueEmail } from "./helpers";

// Settings → Subsonic apps: a key made with the password works at /rest at once, is
// listed by name, and stops the moment it is revoked.
test("a Subsonic app key made in settings opens /rest until it is revoked", async ({ page }) => {
  const email = uniqueEmail("apps");
  await signUp(page, email);
  await page.getByRole("link", { name: "Settings" }).click();
  await hydrated(page);
  const section = page.getByTestId("app-keys");
  await expect(section.getByTestId("app-keys-empty")).toBeVisible();

  await section.getByText("Connect an app").click();
  await section.getByLabel("Name (the app or device)").fill("Symfonium on my phone");
  // A wrong password makes no key.
  await section.getByLabel("Your password").fill("not-my-password-1");
  await section.getByRole("button", { name: "Make key" }).click();
  await expect(section.getByRole("alert")).toBeVisible();
  await section.getByLabel("Your password").fill(PASSWORD);
  await section.getByRole("button", { name: "Make key" }).click();
  const secret = section.getByTestId("app-key-secret");
  await expect(secret).toHaveText(/^rfk_[0-9a-f]{64}$/);
  const key = (await secret.textContent())!;
  await expect(section.getByTestId("app-key-list")).toContainText("Symfonium on my phone");
  await page.screenshot({ path: "test-results/settings-apps.png", fullPage: true });

  const ping = async () =>
    (await (await page.request.get(`/rest/ping.view?apiKey=${key}&f=json&v=1.16.1&c=e2e`)).json())[
      "subsonic-response"
    ];
  expect((await ping()).status).toBe("ok");
  await page.reload();
  await hydrated(page);
  await expect(section.getByTestId("app-key-list")).toContainText("last used just now");

  await section.getByRole("button", { name: "Revoke Symfonium on my phone" }).click();
  await expect(section.getByTestId("app-keys-empty")).toBeVisible();
  const refused = await ping();
  expect(refused.status).toBe("failed");
  expect(refused.error.code).toBe(44);
});

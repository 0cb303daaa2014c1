import { request as playwrightRequest } from "@playwright/test";
import { test, expect, Page } from "./fixtures";
import { hydrated, logInWithPassword, logOut, PASSWORD, signUp, uniqueEmail } from "./helpers";

// Single sign-on through the OpenID Connect provider scripts/services.sh starts (a real
// oidc-provider on 127.0.0.1:3400): its login page takes any account name; the address is
// <name>@example.test, verified by the provider.

function account(tag: string): string {
  return `${tag}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
}

/** From the login page, through the provider's sign-in, as `who`. A browser already
 * signed in at the provider (`atProvider`) is sent straight back without its login page. */
async function continueWithProvider(page: Page, who: string, atProvider = false) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByRole("link", { name: "Continue with Test ID" }).click();
  if (atProvider) return;
  await expect(page.getByRole("heading", { name: "Test provider" })).toBeVisible();
  await page.getByLabel("Account").fill(who);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Someone else's sign-in, in a client of their own (not this browser), up to the
 * moment the provider sends them back: the callback URL, unused. */
async function callbackOfAnotherClient(baseURL: string, who: string): Promise<string> {
  const client = await playwrightRequest.newContext();
  let url = `${baseURL}/sso/start?provider=oidc`;
  let form: Record<string, string> | undefined;
  try {
    for (let step = 0; step < 20; step++) {
      const options = { maxRedirects: 0, headers: { accept: "text/html" } };
      const r = form ? await client.post(url, { ...options, form }) : await client.get(url, options);
      form = undefined;
      const location = r.headers()["location"];
      if (location) {
        url = new URL(location, url).toString();
        if (url.includes("/sso/callback")) return url;
        continue;
      }
      // The provider's login page: sign in there as `who`.
      const action = /action="([^"]+)"/.exec(await r.text())?.[1];
      if (!action) throw new Error(`no login form at ${url} (${r.status()})`);
      url = new URL(action, url).toString();
      form = { login: who };
    }
    throw new Error("the provider never sent the client back");
  } finally {
    await client.dispose();
  }
}

test("single sign-on: the first sign-in makes an account, the next finds it", async ({ page }) => {
  const who = account("sso");
  await page.goto("/login");
  await hydrated(page);
  await expect(page.getByTestId("sso-buttons")).toBeVisible();
  await page.screenshot({ path: "test-results/sso-login.png" });
  await continueWithProvider(page, who);
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
  await hydrated(page);

  // Settings: the provider is how this account signs in; it has no password of its own,
  // so that sign-in cannot be disconnected.
  await page.getByRole("link", { name: "Settings" }).click();
  const methods = page.getByTestId("sign-in-methods");
  await expect(methods).toContainText("Test ID");
  await expect(methods).toContainText(`${who}@example.test`);
  await expect(page.getByTestId("no-password")).toBeVisible();
  await expect(methods.getByRole("button", { name: "Disconnect" })).toHaveCount(0);
  await page.locator("#sign-in-methods").screenshot({ path: "test-results/sso-settings.png" });

  // Signed out here, still signed in at the provider: straight back in, same account.
  await logOut(page);
  await continueWithProvider(page, who, true);
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
  await hydrated(page);
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByTestId("sign-in-methods")).toContainText(`${who}@example.test`);
});

test("single sign-on: an existing account links by its password, then signs straight in", async ({ page }) => {
  const who = account("link");
  const email = `${who}@example.test`;
  await signUp(page, email);
  await logOut(page);

  await continueWithProvider(page, who);
  await expect(page).toHaveURL(/\/link-account\?token=/);
  await expect(page.getByTestId("link-explainer")).toContainText(email);
  await hydrated(page);
  await page.screenshot({ path: "test-results/sso-link.png" });
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Link and log in" }).click();
  await expect(page.getByRole("alert")).toContainText("Wrong email or password");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Link and log in" }).click();
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
  await hydrated(page);

  // Linked: the provider signs in without the password now; the password still works.
  await logOut(page);
  await continueWithProvider(page, who, true);
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
  await hydrated(page);
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByTestId("sign-in-methods")).toContainText("Test ID");
  await expect(page.getByTestId("no-password")).toHaveCount(0);
  await logOut(page);
  await logInWithPassword(page, email);
  await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
});

test("single sign-on: a sign-in finished in another browser is refused", async ({ page, baseURL }) => {
  // The victim's browser is sent the callback of a sign-in someone else started.
  const callback = await callbackOfAnotherClient(baseURL!, account("attacker"));
  expect(callback).toContain("code=");
  await page.goto(callback);
  await expect(page).toHaveURL(/\/login\?sso_error=1/);
  await expect(page.getByTestId("sso-error")).toContainText("started in another browser");
  await hydrated(page);
  // Nobody was signed in.
  await page.goto("/settings");
  await expect(page).toHaveURL(/\/login/);
});

/** Settings' sign-in methods, after the provider sent the browser back from connecting. */
async function expectConnected(page: Page, who: string) {
  await expect(page).toHaveURL(/\/settings\?linked=/);
  await expect(page.getByRole("status").filter({ hasText: "Test ID is connected" })).toBeVisible();
  await expect(page.getByTestId("sign-in-methods")).toContainText(`${who}@example.test`);
}

test("single sign-on: a signed-in user connects a sign-in from Settings, never by a link", async ({ page }) => {
  await signUp(page, uniqueEmail("connect"));
  // A link asking to connect (another site's, an old bookmark) connects nothing: it is
  // sent back to Settings, which says why, and the page hydrates (the reason's resource
  // once broke hydration there).
  await page.goto("/sso/start?provider=oidc&connect=true");
  await expect(page).toHaveURL(/\/settings\?sso_error=1/);
  await expect(page.getByTestId("sso-error")).toContainText("Connect button");
  await hydrated(page);
  await expect(page.getByTestId("sso-error")).toContainText("Connect button");
  await expect(page.getByTestId("sign-in-methods")).not.toContainText("Test ID");

  // The Connect button (a form post): through the provider's sign-in and back.
  const who = account("connect");
  await page.getByRole("button", { name: "Connect Test ID" }).click();
  await expect(page.getByRole("heading", { name: "Test provider" })).toBeVisible();
  await page.getByLabel("Account").fill(who);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expectConnected(page, who);
  await expect(page.getByRole("button", { name: "Connect Test ID" })).toHaveCount(0);
});

test("single sign-on: without JavaScript, Settings' Connect form reaches the provider", async ({ browser }) => {
  // The form's answer redirects to the provider: the page's CSP form-action must allow it.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  try {
    await page.goto("/signup");
    await page.getByLabel("Email").fill(uniqueEmail("connect-nojs"));
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("heading", { name: "Home" })).toBeVisible();
    await page.goto("/settings");
    const who = account("connect-nojs");
    await page.getByRole("button", { name: "Connect Test ID" }).click();
    await expect(page.getByRole("heading", { name: "Test provider" })).toBeVisible();
    await page.getByLabel("Account").fill(who);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expectConnected(page, who);
  } finally {
    await context.close();
  }
});

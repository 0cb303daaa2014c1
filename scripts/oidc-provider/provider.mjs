// A real OpenID Connect provider (npm's oidc-provider) on loopback for the single sign-on
// tests: discovery, authorization code with PKCE, signed ID tokens, JWKS. Started by
// scripts/services.sh on REFRAIN_TEST_OIDC_PORT (3400).
//
// Accounts: whatever name is typed at its login form is an account; its email is
// <name>@example.test, verified unless the name ends in "-unverified". Ticking "second
// factor" marks the sign-in as multi-factor (amr: pwd, otp). The client "refrain" (secret
// REFRAIN_TEST_OIDC_SECRET) is a native client: its loopback redirect URI may use any
// port, as each test server has its own.
import http from "node:http";
import Provider from "oidc-provider";

const port = Number(process.env.REFRAIN_TEST_OIDC_PORT || 3400);
const issuer = `http://127.0.0.1:${port}`;
const secret = process.env.REFRAIN_TEST_OIDC_SECRET || "refrain-test-secret";

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "refrain",
      client_secret: secret,
      application_type: "native",
      redirect_uris: ["http://127.0.0.1/sso/callback"],
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  pkce: { required: () => true },
  claims: { openid: ["sub", "amr"], email: ["email", "email_verified"], profile: ["name"] },
  conformIdTokenClaims: false,
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      email: `${id}@example.test`,
      email_verified: !id.endsWith("-unverified"),
      name: id.replace(/-/g, " "),
    }),
  }),
  features: { devInteractions: { enabled: false } },
  cookies: { keys: ["refrain-oidc-test-cookies"] },
});
provider.proxy = false;

const page = (uid, error) => `<!doctype html><meta charset="utf-8"><title>Test provider: sign in</title>
<h1>Test provider</h1>${error ? `<p role="alert">${error}</p>` : ""}
<form method="post" action="/interaction/${uid}/login">
<label>Account <input name="login" autofocus required></label>
<label><input type="checkbox" name="mfa" value="1"> second factor</label>
<button type="submit">Sign in</button></form>`;

async function body(req) {
  let data = "";
  for await (const chunk of req) data += chunk;
  return new URLSearchParams(data);
}

const handler = provider.callback();
http
  .createServer(async (req, res) => {
    const m = req.url.match(/^\/interaction\/([^/?]+)(\/login)?/);
    if (!m) return handler(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      // Consent (asked of native clients every time) is given at once.
      if (details.prompt.name === "consent") {
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
        grant.addOIDCScope("openid email profile");
        const grantId = await grant.save();
        return await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      }
      if (req.method === "GET") {
        res.setHeader("content-type", "text/html; charset=utf-8");
        return res.end(page(details.uid));
      }
      const form = await body(req);
      const login = (form.get("login") || "").trim();
      if (!/^[a-z0-9][a-z0-9.-]{0,62}$/.test(login)) {
        res.setHeader("content-type", "text/html; charset=utf-8");
        return res.end(page(details.uid, "Use letters, digits, dots and dashes."));
      }
      const amr = form.get("mfa") ? ["pwd", "otp"] : ["pwd"];
      await provider.interactionFinished(req, res, { login: { accountId: login, amr } }, { mergeWithLastSubmission: false });
    } catch (e) {
      res.statusCode = 400;
      res.end(String(e));
    }
  })
  .listen(port, "127.0.0.1", () => console.log(`oidc-provider at ${issuer}`));

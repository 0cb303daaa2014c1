import { defineConfig } from "@playwright/test";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";

// The test command (scripts/test.sh) builds the release binary and points REFRAIN_BIN at it.
// Playwright starts it on a fresh data directory for this run.
const port = Number(process.env.E2E_PORT ?? 3123);
const baseURL = process.env.BASE_URL ?? `http://127.0.0.1:${port}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "refrain-e2e-"));
const bin = process.env.REFRAIN_BIN ?? "../target/release/refrain";

export default defineConfig({
  testDir: "./tests",
  timeout: 120_000,
  expect: { timeout: 30_000 },
  fullyParallel: true,
  workers: 2,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: process.env.BASE_URL
    ? undefined
    : {
        command: bin,
        cwd: "..",
        url: `${baseURL}/healthz`,
        reuseExistingServer: false,
        timeout: 60_000,
        stdout: "pipe",
        env: {
          REFRAIN_PORT: String(port),
          REFRAIN_DATA_DIR: dataDir,
          REFRAIN_SITE_ROOT: process.env.REFRAIN_SITE_ROOT ?? "target/site",
          RUST_LOG: "info",
          REFRAIN_ADMIN_EMAIL: "admin@refrain.test",
          // Every test signs its accounts up from 127.0.0.1.
          REFRAIN_SIGNUPS_PER_ADDRESS: "100000",
          // ...and makes all its requests from there: the limits are tested in
          // server/tests/limits.rs, not by slowing this suite down.
          REFRAIN_RATE_LIMIT: "0",
          REFRAIN_RATE_LIMIT_SEARCH: "0",
          REFRAIN_RATE_LIMIT_UPLOADS: "0",
          REFRAIN_RATE_LIMIT_URL_IMPORTS: "0",
          REFRAIN_RATE_LIMIT_IMAGES: "0",
          REFRAIN_MAX_CONNECTIONS_PER_CLIENT: "1000",
          // The stand-in sites of link_import.spec.ts and import_desk.spec.ts.
          REFRAIN_IMPORT_ALLOW_HOSTS: "127.0.0.1:3190,127.0.0.1:3191",
          // Single sign-on at the OpenID Connect provider scripts/services.sh starts.
          REFRAIN_OIDC_ISSUER: process.env.REFRAIN_TEST_OIDC_URL ?? "http://127.0.0.1:3400",
          REFRAIN_OIDC_CLIENT_ID: "refrain",
          REFRAIN_OIDC_CLIENT_SECRET: process.env.REFRAIN_TEST_OIDC_SECRET ?? "refrain-test-secret",
          REFRAIN_OIDC_NAME: "Test ID",
          // Emails go to the SMTP sink scripts/services.sh starts; the tests read its Maildir.
          ...(process.env.REFRAIN_TEST_SMTP_URL ? { REFRAIN_SMTP_URL: process.env.REFRAIN_TEST_SMTP_URL } : {}),
          // Set by scripts/test.sh for the second pass: the same suite on PostgreSQL.
          ...(process.env.E2E_DATABASE_URL ? { REFRAIN_DATABASE_URL: process.env.E2E_DATABASE_URL } : {}),
        },
      },
});

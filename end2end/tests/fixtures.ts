import { test as base, expect, Page } from "@playwright/test";

/** Playwright's `test`, plus a record of what each page printed to its console as an error
 * and of uncaught exceptions (a WASM panic lands there). When a test fails, the record is
 * printed and attached to the report, so a failure in CI says what the browser saw. A
 * panic of the WASM client (a hydration mismatch, say) fails the test even if its own
 * assertions passed: after one, the page no longer answers. */
export const test = base.extend<{ browserErrors: string[] }>({
  browserErrors: [
    async ({ page }, use, testInfo) => {
      const seen: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") seen.push(`console.${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (e) => seen.push(`pageerror: ${e.message}\n${e.stack ?? ""}`));
      page.on("requestfailed", (r) => seen.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ""}`));
      await use(seen);
      const panic = seen.find((line) => line.includes("panicked at"));
      if (panic && testInfo.status === "passed") {
        throw new Error(`the WASM client panicked:\n${panic}`);
      }
      if (testInfo.status !== testInfo.expectedStatus && seen.length > 0) {
        const text = seen.join("\n");
        console.log(`--- what the browser reported during "${testInfo.title}" ---\n${text}`);
        await testInfo.attach("browser-errors", { body: text, contentType: "text/plain" });
      }
    },
    { auto: true },
  ],
});

export { expect };
export type { Page };

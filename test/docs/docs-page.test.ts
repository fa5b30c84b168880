import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../support/server.ts";

const CHROMIUM = "/usr/bin/chromium";
const OUTPUT = join(import.meta.dir, "../../test-output");
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`\n!!! ${CHROMIUM} is missing: the headless /docs browser test is SKIPPED. Install it with 'apt-get install -y chromium'.\n`);
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe("/docs without a network", () => {
  test("every asset the page references is served by our own server", async () => {
    const html = await (await server.call("GET", "/docs")).text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((a) => !a.startsWith("data:"));
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      expect(asset.startsWith("/")).toBe(true);
      const response = await server.call("GET", asset);
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      expect(response.headers.get("content-type")).toContain("javascript");
    }
    const redoc = await server.call("GET", "/redoc");
    expect(redoc.status).toBe(200);
    expect(await redoc.text()).toBe(html);
  });

  test("the HTML pages carry a strict CSP and nosniff", async () => {
    const response = await server.call("GET", "/docs");
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });

  test.skipIf(!haveChromium)("headless Chromium renders every operation and requests nothing outside our origin", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const requested: string[] = [];
      page.on("request", (request) => requested.push(request.url()));
      const consoleErrors: string[] = [];
      page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
      await page.goto(`${server.base}/docs`, { waitUntil: "networkidle" });
      await page.waitForSelector("text=Create a run (idempotent by event_id)", { timeout: 20_000 });

      const text = await page.locator("body").innerText();
      const spec = (await (await server.call("GET", "/openapi.json")).json()) as { paths: Record<string, Record<string, { summary: string }>> };
      for (const methods of Object.values(spec.paths)) {
        for (const operation of Object.values(methods)) expect(text).toContain(operation.summary);
      }
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: join(OUTPUT, "docs.png"), fullPage: false });

      const foreign = requested.filter((url) => !url.startsWith(server.base) && !url.startsWith("data:") && !url.startsWith("blob:"));
      expect(foreign).toEqual([]);
      expect(requested).toContain(`${server.base}/openapi.json`);
      expect(consoleErrors.filter((e) => /Content Security Policy|Refused/.test(e))).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 90_000);
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "./server.ts";

/** One row of an HTTP scenario table (after PocketBase's ApiScenario). */
export interface Scenario {
  name: string;
  method: string;
  /** A path, or a function of the values `setup` returned (e.g. an event_id it created). */
  path: string | ((ctx: Record<string, string>) => string);
  /** A string or Uint8Array is sent raw; anything else as JSON. A function receives setup's values. */
  body?: unknown | ((ctx: Record<string, string>) => unknown);
  headers?: Record<string, string>;
  /** Runs before the request against the same server; the values it returns feed path and body. */
  setup?: (server: TestServer) => Promise<Record<string, string> | void>;
  status: number;
  /** Deep partial match against the parsed JSON body. */
  json?: unknown;
  /** Substrings the raw body must contain / must not contain. */
  includes?: string[];
  excludes?: string[];
  /** Response headers that must be present with these values (names lower-case). */
  responseHeaders?: Record<string, string>;
  /** Checks on the server after the response (e.g. what was stored). */
  after?: (server: TestServer, body: unknown, ctx: Record<string, string>) => Promise<void> | void;
}

/** Runs a table of scenarios against one real server started with `env`. */
export function runScenarios(title: string, scenarios: readonly Scenario[], env: Record<string, string> = {}): void {
  describe(title, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(env);
    });
    afterAll(async () => {
      await server.close();
    });
    for (const s of scenarios) {
      test(s.name, async () => {
        const ctx = (await s.setup?.(server)) ?? {};
        const path = typeof s.path === "function" ? s.path(ctx) : s.path;
        const body = typeof s.body === "function" ? (s.body as (c: Record<string, string>) => unknown)(ctx) : s.body;
        const response = await server.call(s.method, path, body, s.headers);
        const text = await response.text();
        expect({ status: response.status, body: text }).toMatchObject({ status: s.status });
        const parsed = text ? JSON.parse(text) : undefined;
        if (s.json !== undefined) expect(parsed).toMatchObject(s.json as object);
        for (const fragment of s.includes ?? []) expect(text).toContain(fragment);
        for (const fragment of s.excludes ?? []) expect(text).not.toContain(fragment);
        for (const [name, value] of Object.entries(s.responseHeaders ?? {})) expect(response.headers.get(name)).toBe(value);
        await s.after?.(server, parsed, ctx);
      });
    }
  });
}

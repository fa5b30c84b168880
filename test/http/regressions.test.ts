import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { runScenarios } from "../support/scenarios.ts";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";

// Inputs that broke the server once (found in review), kept so they cannot break it again.
runScenarios("regressions", [
  {
    name: "associate-commit without author/timestamp clears the previous commit's author and timestamp",
    method: "POST",
    path: (ctx) => `/api/v1/runs/${ctx.id}/associate-commit`,
    setup: async (server) => {
      const run = makeRun();
      await server.call("POST", "/api/v1/runs", run);
      await server.call("PATCH", `/api/v1/runs/${run.event_id}`, { git_commit_author: "Old <o@x>", git_commit_timestamp: "2020-01-01T00:00:00Z" });
      return { id: run.event_id as string };
    },
    body: { commit_hash: "abcdef1", commit_source: "llm" },
    status: 200,
    after: async (server, _body, ctx) => {
      const run = await (await server.call("GET", `/api/v1/runs/${ctx.id}`)).json();
      expect(run).toMatchObject({ git_commit_hash: "abcdef1", git_commit_source: "llm", git_commit_author: null, git_commit_timestamp: null });
    },
  },
  {
    name: "a lone surrogate nested inside metrics_json (value or key) is a 422, as it is in a text field",
    method: "POST",
    path: "/api/v1/runs",
    body: '{"event_id":"sur-1","run_id":"r","agent_name":"a","job_type":"j","start_time":"2026-01-05T18:40:27Z","metrics_json":{"k":"\\ud800","\\udc00":1}}',
    status: 422,
    json: { detail: [{ type: "string_unicode", loc: ["body", "metrics_json"] }] },
  },
  {
    name: "a number that overflows to Infinity inside context_json is a 422, never stored as null",
    method: "POST",
    path: "/api/v1/runs",
    body: '{"event_id":"inf-1","run_id":"r","agent_name":"a","job_type":"j","start_time":"2026-01-05T18:40:27Z","context_json":{"big":[1e309]}}',
    status: 422,
    json: { detail: [{ type: "finite_number", loc: ["body", "context_json"] }] },
  },
  {
    name: "an event_id too long to fit in a URL is refused at creation (it could never be fetched)",
    method: "POST",
    path: "/api/v1/runs",
    body: makeRun({ event_id: "e".repeat(513) }),
    status: 422,
    json: { detail: [{ type: "string_too_long", loc: ["body", "event_id"] }] },
  },
  ...[".", ".."].map((id) => ({
    name: `event_id '${id}' is refused at creation (URL parsers resolve it away)`,
    method: "POST",
    path: "/api/v1/runs",
    body: makeRun({ event_id: id }),
    status: 422,
    json: { detail: [{ type: "value_error", loc: ["body", "event_id"] }] },
  })),
  {
    name: "an id with a malformed percent-escape is just an unknown run (404), not a 400",
    method: "GET",
    path: "/api/v1/runs/x%zz",
    status: 404,
    json: { detail: "Run not found: x%zz" },
  },
  {
    name: "a repeated time filter uses its last value, like every other parameter",
    method: "GET",
    path: "/api/v1/runs?created_after=garbage&created_after=2026-01-01T00:00:00Z",
    status: 200,
  },
  {
    name: "... so garbage as the last value is the 400",
    method: "GET",
    path: "/api/v1/runs?created_after=2026-01-01T00:00:00Z&created_after=garbage",
    status: 400,
    json: { detail: "Invalid ISO8601 timestamp for created_after: 'garbage'" },
  },
]);

describe("configuration that could never work is refused at start-up", () => {
  test.each([
    [{ TELEMETRY_DB_PATH: ":memory:" }, "TELEMETRY_DB_PATH"],
    [{ TELEMETRY_API_AUTH_ENABLED: "true", TELEMETRY_API_AUTH_TOKEN: "s3 cret" }, "TELEMETRY_API_AUTH_TOKEN"],
    [{ TELEMETRY_TRUSTED_PROXIES: "127.0.0.1, not-an-ip" }, "TELEMETRY_TRUSTED_PROXIES"],
  ])("%p", (env, setting) => {
    expect(() => loadConfig([], env)).toThrow(ConfigError);
    expect(() => loadConfig([], env)).toThrow(setting);
  });
});

describe("a foreign lock in DELETE journal mode", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ TELEMETRY_DB_JOURNAL_MODE: "DELETE" });
  });
  afterAll(() => server.close());

  test("reads answer 503 instead of stalling the server, and routes without the database keep answering", async () => {
    const holder = new Database(server.dbPath);
    holder.run("BEGIN EXCLUSIVE");
    try {
      const read = await server.call("GET", "/api/v1/runs");
      expect(read.status).toBe(503);
      expect(((await read.json()) as { detail: string }).detail).toContain("locked by another process");
      expect((await server.call("GET", "/docs/init.js")).status).toBe(200);
    } finally {
      holder.run("ROLLBACK");
      holder.close();
    }
    expect((await server.call("GET", "/api/v1/runs")).status).toBe(200);
  });
});

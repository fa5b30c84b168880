import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runScenarios, type Scenario } from "../support/scenarios.ts";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";

// /health, /metrics, /api/v1/metadata, 404/405 answers, and no leaks in any error.

const HOUR_MS = 3_600_000;

/** `ms` (epoch) written in the zone `offsetMinutes` east of UTC, e.g. 2026-01-01T10:00:00.000-08:00. */
function isoInZone(ms: number, offsetMinutes: number): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

async function createRuns(server: TestServer, runs: Record<string, unknown>[]): Promise<void> {
  const response = await server.call("POST", "/api/v1/runs/batch", runs);
  expect({ status: response.status, body: await response.json() }).toMatchObject({ status: 200, body: { inserted: runs.length } });
}

const times = (n: number, overrides: Record<string, unknown>) => Array.from({ length: n }, () => makeRun(overrides));

// ---------------------------------------------------------------------------------------------
// /health
// ---------------------------------------------------------------------------------------------

runScenarios("GET /health (defaults)", [
  {
    name: "status ok, version 2.1.0, db_path, journal_mode WAL, synchronous FULL",
    method: "GET",
    path: "/health",
    status: 200,
    json: { status: "ok", version: "2.1.0", journal_mode: "WAL", synchronous: "FULL" },
    after: (server, body) => expect(body).toMatchObject({ db_path: server.dbPath }),
  },
  {
    name: "HEAD /health answers 200 too",
    method: "HEAD",
    path: "/health",
    status: 200,
  },
]);

runScenarios(
  "GET /health with TELEMETRY_DB_JOURNAL_MODE=DELETE, TELEMETRY_DB_SYNCHRONOUS=NORMAL",
  [
    {
      name: "reports DELETE / NORMAL read back from the database",
      method: "GET",
      path: "/health",
      status: 200,
      json: { status: "ok", version: "2.1.0", journal_mode: "DELETE", synchronous: "NORMAL" },
      after: (server, body) => expect(body).toMatchObject({ db_path: server.dbPath }),
    },
    {
      name: "/metrics performance reports journal_mode DELETE",
      method: "GET",
      path: "/metrics",
      status: 200,
      json: { performance: { journal_mode: "DELETE" } },
      after: (server, body) => expect(body).toMatchObject({ performance: { db_path: server.dbPath, journal_mode: "DELETE" } }),
    },
  ],
  { TELEMETRY_DB_JOURNAL_MODE: "DELETE", TELEMETRY_DB_SYNCHRONOUS: "NORMAL" },
);

runScenarios(
  "GET /health with lower-case settings (truncate / extra)",
  [
    {
      name: "reports upper-case TRUNCATE / EXTRA",
      method: "GET",
      path: "/health",
      status: 200,
      json: { journal_mode: "TRUNCATE", synchronous: "EXTRA" },
    },
  ],
  { TELEMETRY_DB_JOURNAL_MODE: "truncate", TELEMETRY_DB_SYNCHRONOUS: "extra" },
);

// ---------------------------------------------------------------------------------------------
// /metrics
// ---------------------------------------------------------------------------------------------

runScenarios("GET /metrics", [
  {
    name: "empty database: zero counts, empty agents, performance",
    method: "GET",
    path: "/metrics",
    status: 200,
    json: { total_runs: 0, agents: {}, recent_24h: 0, performance: { journal_mode: "WAL" } },
    includes: ['"agents":{}'],
    after: (server, body) => expect(body).toMatchObject({ performance: { db_path: server.dbPath } }),
  },
  {
    name: "total_runs, agents largest first (raw key order), recent_24h by instant",
    method: "GET",
    setup: async (server) => {
      const now = Date.now();
      await createRuns(server, [
        // alpha: 3 runs created now (server default)
        ...times(3, { agent_name: "alpha" }),
        // gamma: 20 h ago written at -10:00 (its text reads like 30 h ago): recent
        makeRun({ agent_name: "gamma", created_at: isoInZone(now - 20 * HOUR_MS, -600) }),
        // gamma: two days ago: not recent
        makeRun({ agent_name: "gamma", created_at: new Date(now - 48 * HOUR_MS).toISOString() }),
        // beta: 30 h ago written at +10:00 (its text reads like 20 h ago): not recent
        makeRun({ agent_name: "beta", created_at: isoInZone(now - 30 * HOUR_MS, 600) }),
      ]);
    },
    path: "/metrics",
    status: 200,
    json: { total_runs: 6, agents: { alpha: 3, gamma: 2, beta: 1 }, recent_24h: 4, performance: { journal_mode: "WAL" } },
    includes: ['"agents":{"alpha":3,"gamma":2,"beta":1}'],
    after: (server, body) => {
      expect(Object.keys((body as { agents: object }).agents)).toEqual(["alpha", "gamma", "beta"]);
      expect(body).toMatchObject({ performance: { db_path: server.dbPath, journal_mode: "WAL" } });
    },
  },
  {
    name: "23 h ago written at -12:00 counts as recent; 25 h ago written at +14:00 does not",
    method: "GET",
    setup: async (server) => {
      const now = Date.now();
      await createRuns(server, [
        makeRun({ agent_name: "delta", created_at: isoInZone(now - 25 * HOUR_MS, 14 * 60) }),
        makeRun({ agent_name: "delta", created_at: isoInZone(now - 23 * HOUR_MS, -12 * 60) }),
        ...times(2, { agent_name: "delta" }),
      ]);
    },
    path: "/metrics",
    status: 200,
    json: { total_runs: 10, recent_24h: 7, agents: { delta: 4, alpha: 3, gamma: 2, beta: 1 } },
    includes: ['"agents":{"delta":4,"alpha":3,"gamma":2,"beta":1}'],
  },
]);

runScenarios("GET /metrics and /api/v1/metadata with agents named 123, __proto__ and constructor", [
  {
    name: "metrics keeps every name's count and the largest-first order",
    method: "GET",
    setup: async (server) => {
      await createRuns(server, [
        ...times(3, { agent_name: "__proto__", job_type: "toString" }),
        ...times(2, { agent_name: "123", job_type: "7" }),
        ...times(1, { agent_name: "constructor", job_type: "hasOwnProperty" }),
        ...times(4, { agent_name: "zeta", job_type: "__proto__" }),
      ]);
    },
    path: "/metrics",
    status: 200,
    json: { total_runs: 10, recent_24h: 10 },
    includes: ['"agents":{"zeta":4,"__proto__":3,"123":2,"constructor":1}'],
    after: (_s, body) => {
      const agents = (body as { agents: Record<string, number> }).agents;
      // JSON.parse keeps "__proto__" as an own data property
      expect(Object.getOwnPropertyNames(agents).sort()).toEqual(["123", "__proto__", "constructor", "zeta"]);
      expect(Object.getOwnPropertyDescriptor(agents, "__proto__")?.value).toBe(3);
      expect(agents["123"]).toBe(2);
      expect(Object.getOwnPropertyDescriptor(agents, "constructor")?.value).toBe(1);
    },
  },
  {
    name: "metadata lists them in code-point order with counts",
    method: "GET",
    path: "/api/v1/metadata",
    status: 200,
    json: {
      agent_names: ["123", "__proto__", "constructor", "zeta"],
      job_types: ["7", "__proto__", "hasOwnProperty", "toString"],
      counts: { agent_names: 4, job_types: 4 },
    },
  },
  {
    name: "GET /api/v1/runs?agent_name=__proto__ finds exactly those runs",
    method: "GET",
    path: "/api/v1/runs?agent_name=__proto__",
    status: 200,
    json: [{ agent_name: "__proto__" }, { agent_name: "__proto__" }, { agent_name: "__proto__" }],
  },
]);

// ---------------------------------------------------------------------------------------------
// /api/v1/metadata
// ---------------------------------------------------------------------------------------------

runScenarios("GET /api/v1/metadata", [
  {
    name: "empty database: empty lists, zero counts",
    method: "GET",
    path: "/api/v1/metadata",
    status: 200,
    json: { agent_names: [], job_types: [], counts: { agent_names: 0, job_types: 0 } },
  },
  {
    name: "distinct names in code-point order (upper-case before lower-case, BMP before astral)",
    method: "GET",
    setup: async (server) => {
      const agents = ["beta", "alpha", "Alpha", "Zed", "_under", "äpfel", "\u{1F600}smile", "\uFF21wide", "beta", "alpha"];
      const jobs = ["job-b", "Job-A", "job-a", "job-b", "JOB", "job-a", "job-b", "Job-A", "job-c", "job-a"];
      await createRuns(server, agents.map((agent_name, i) => makeRun({ agent_name, job_type: jobs[i] })));
    },
    path: "/api/v1/metadata",
    status: 200,
    json: {
      agent_names: ["Alpha", "Zed", "_under", "alpha", "beta", "äpfel", "\uFF21wide", "\u{1F600}smile"],
      job_types: ["JOB", "Job-A", "job-a", "job-b", "job-c"],
      counts: { agent_names: 8, job_types: 5 },
    },
    after: (_s, body) => {
      const b = body as { agent_names: string[]; job_types: string[] };
      expect(b.agent_names.length).toBe(8);
      expect(b.job_types.length).toBe(5);
    },
  },
]);

// ---------------------------------------------------------------------------------------------
// 404 / 405
// ---------------------------------------------------------------------------------------------

const unknownPaths = ["/nope", "/api", "/api/v1", "/api/v1/nope", "/api/v2/runs", "/api/v1/runs/x/y", "/api/v1/runs/x/commit-url/extra", "/health/extra", "/HEALTH", "/api/v1/Runs"];

runScenarios(
  "unknown paths are 404 Not Found",
  unknownPaths.map(
    (path): Scenario => ({
      name: `GET ${path}`,
      method: "GET",
      path,
      status: 404,
      json: { detail: "Not Found" },
      after: (_s, body) => expect(body).toEqual({ detail: "Not Found" }),
    }),
  ),
);

/** [method, path, methods the path serves, methods it must not list] */
const wrongMethods: [string, string, string[], string[]][] = [
  ["DELETE", "/api/v1/runs", ["GET", "POST"], ["PATCH", "DELETE"]],
  ["PATCH", "/api/v1/runs", ["GET", "POST"], ["PATCH", "DELETE"]],
  ["PUT", "/api/v1/runs/x", ["GET", "PATCH"], ["POST", "PUT"]],
  ["DELETE", "/api/v1/runs/x", ["GET", "PATCH"], ["POST", "DELETE"]],
  ["DELETE", "/api/v1/runs/batch", ["GET", "PATCH", "POST"], ["DELETE", "PUT"]],
  ["GET", "/api/v1/runs/x/associate-commit", ["POST"], ["GET", "PATCH"]],
  ["POST", "/api/v1/runs/x/commit-url", ["GET"], ["POST", "PATCH"]],
  ["POST", "/api/v1/runs/x/repo-url", ["GET"], ["POST", "PATCH"]],
  ["POST", "/health", ["GET"], ["POST", "PATCH"]],
  ["POST", "/metrics", ["GET"], ["POST", "PATCH"]],
  ["DELETE", "/api/v1/metadata", ["GET"], ["POST", "DELETE"]],
];

runScenarios(
  "wrong method on a known path is 405 Method Not Allowed",
  wrongMethods.map(
    ([method, path]): Scenario => ({
      name: `${method} ${path}`,
      method,
      path,
      status: 405,
      json: { detail: "Method Not Allowed" },
      after: (_s, body) => expect(body).toEqual({ detail: "Method Not Allowed" }),
    }),
  ),
);

describe("405 Allow header lists every method the path serves", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });
  for (const [method, path, served, notServed] of wrongMethods) {
    test(`${method} ${path} → Allow has ${served.join(", ")}`, async () => {
      const response = await server.call(method, path);
      expect(response.status).toBe(405);
      const allow = (response.headers.get("allow") ?? "").split(",").map((m) => m.trim().toUpperCase()).filter(Boolean);
      for (const m of served) expect(allow).toContain(m);
      for (const m of notServed) expect(allow).not.toContain(m);
      expect(await response.json()).toEqual({ detail: "Method Not Allowed" });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// No stack traces, SQL or file paths in any response
// ---------------------------------------------------------------------------------------------

const LEAKS = [".ts:", "    at ", "node_modules", "/src/", "SELECT ", "INSERT ", "UPDATE agent_runs", "FROM agent_runs", "SQLITE_", "SQLiteError", "bun:sqlite"];

/** Also checks the stack-trace shape named in the brief: "at " together with ".ts:". */
const noStack = (_s: TestServer, body: unknown) => {
  const text = JSON.stringify(body ?? null);
  expect(/at .*\.ts:\d+/.test(text)).toBe(false);
};

const hostile: Scenario[] = [
  { name: "invalid JSON body", method: "POST", path: "/api/v1/runs", body: "{", status: 422, json: { detail: [{ type: "json_invalid" }] } },
  { name: "body is a JSON string", method: "POST", path: "/api/v1/runs", body: '"hello"', status: 422 },
  { name: "wrong types everywhere", method: "POST", path: "/api/v1/runs", body: { event_id: 1, run_id: [], agent_name: {}, job_type: true, start_time: 5 }, status: 422 },
  { name: "number too large for a counter", method: "POST", path: "/api/v1/runs", body: () => makeRun({ items_discovered: 1e300 }), status: 422 },
  { name: "huge exponent literal", method: "POST", path: "/api/v1/runs", body: () => JSON.stringify(makeRun()).replace("{", '{"duration_ms":1e99999,'), status: 422 },
  { name: "impossible date", method: "POST", path: "/api/v1/runs", body: () => makeRun({ start_time: "2026-02-30T00:00:00Z" }), status: 422 },
  { name: "batch that is not an array", method: "POST", path: "/api/v1/runs/batch", body: { runs: [] }, status: 422 },
  { name: "batch with a broken item", method: "POST", path: "/api/v1/runs/batch", body: () => [makeRun(), { event_id: "x" }], status: 422 },
  { name: "SQL in a filter value", method: "GET", path: `/api/v1/runs?agent_name=${encodeURIComponent("x' OR '1'='1")}`, status: 200, json: [] },
  { name: "SQL in limit", method: "GET", path: `/api/v1/runs?limit=${encodeURIComponent("1; DROP TABLE agent_runs")}`, status: 422 },
  { name: "SQL in a timestamp filter", method: "GET", path: `/api/v1/runs?created_before=${encodeURIComponent("'; DROP TABLE runs --")}`, status: 400 },
  { name: "very large offset", method: "GET", path: "/api/v1/runs?offset=9007199254740991", status: 200, json: [] },
  { name: "PATCH with an invalid status", method: "PATCH", path: "/api/v1/runs/x", body: { status: "exploded" }, status: 422 },
  { name: "PATCH an unknown run", method: "PATCH", path: "/api/v1/runs/nope", body: { status: "success" }, status: 404, json: { detail: "Run not found: nope" } },
  { name: "PATCH with nothing to update", method: "PATCH", path: "/api/v1/runs/nope", body: { status: null, bogus: 1 }, status: 404 },
  { name: "associate-commit with a non-hex hash", method: "POST", path: "/api/v1/runs/x/associate-commit", body: { commit_hash: "zzzzzzzz", commit_source: "llm" }, status: 422 },
  { name: "event_id with quotes and SQL", method: "GET", path: `/api/v1/runs/${encodeURIComponent(`'"; DROP TABLE agent_runs; --`)}`, status: 404, json: { detail: `Run not found: '"; DROP TABLE agent_runs; --` } },
  { name: "metrics after all of that", method: "GET", path: "/metrics", status: 200, json: { total_runs: 0 } },
];

runScenarios(
  "no response carries a stack trace, SQL or a source path",
  hostile.map((s) => ({ ...s, excludes: [...(s.excludes ?? []), ...LEAKS], after: noStack })),
);

// /health and /metrics may show db_path, but no other file path or SQL
runScenarios("system endpoints show only db_path", [
  {
    name: "health",
    method: "GET",
    path: "/health",
    status: 200,
    excludes: LEAKS,
    after: (server, body) => {
      const paths = JSON.stringify(body).match(/"\/[^"]*"/g) ?? [];
      expect(paths).toEqual([JSON.stringify(server.dbPath)]);
    },
  },
  {
    name: "metrics",
    method: "GET",
    path: "/metrics",
    status: 200,
    excludes: LEAKS,
    after: (server, body) => {
      const paths = JSON.stringify(body).match(/"\/[^"]*"/g) ?? [];
      expect(paths).toEqual([JSON.stringify(server.dbPath)]);
    },
  },
]);

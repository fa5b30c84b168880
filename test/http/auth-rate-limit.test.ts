import { describe, expect, test } from "bun:test";
import { clientAddress } from "../../src/http/client-ip.ts";
import { RateLimiter } from "../../src/http/rate-limit.ts";
import { HttpError } from "../../src/http/responses.ts";
import { runScenarios, type Scenario } from "../support/scenarios.ts";
import { makeRun, type TestServer } from "../support/server.ts";

// Bearer auth, rate limiting, the order of the two, and the limiter / client-IP units.

const RUNS = "/api/v1/runs";
const TOKEN = "s3cret-T0ken-Value-0123456789";
const AUTH_ENV = { TELEMETRY_API_AUTH_ENABLED: "true", TELEMETRY_API_AUTH_TOKEN: TOKEN };
const RATE_ENV = { TELEMETRY_RATE_LIMIT_ENABLED: "true", TELEMETRY_RATE_LIMIT_RPM: "3" };
const GOOD = { authorization: `Bearer ${TOKEN}` };
const HASH = "abcdef1234567";

/** Creates a run with the right token; returns its event_id. */
async function createRun(server: TestServer, overrides: Record<string, unknown> = {}): Promise<string> {
  const run = makeRun({ git_repo: "https://github.com/owner/repo", git_commit_hash: HASH, ...overrides });
  const response = await server.call("POST", RUNS, run, GOOD);
  expect(response.status).toBe(201);
  return run.event_id as string;
}

interface ProtectedRoute {
  label: string;
  method: string;
  path: (ctx: Record<string, string>) => string;
  body?: () => unknown;
  ok: number;
  okJson: (ctx: Record<string, string>) => unknown;
}

const PROTECTED: ProtectedRoute[] = [
  { label: "POST /api/v1/runs", method: "POST", path: () => RUNS, body: () => makeRun(), ok: 201, okJson: () => ({ status: "created" }) },
  { label: "POST /api/v1/runs/batch", method: "POST", path: () => `${RUNS}/batch`, body: () => [makeRun()], ok: 200, okJson: () => ({ inserted: 1, duplicates: 0, total: 1 }) },
  { label: "PATCH /api/v1/runs/{id}", method: "PATCH", path: (c) => `${RUNS}/${c.id}`, body: () => ({ status: "success" }), ok: 200, okJson: (c) => ({ event_id: c.id, updated: true, fields_updated: ["status"] }) },
  {
    label: "POST /api/v1/runs/{id}/associate-commit",
    method: "POST",
    path: (c) => `${RUNS}/${c.id}/associate-commit`,
    body: () => ({ commit_hash: "fedcba9876543", commit_source: "ci" }),
    ok: 200,
    okJson: (c) => ({ status: "success", event_id: c.id, commit_hash: "fedcba9876543" }),
  },
  { label: "GET /api/v1/runs/{id}/commit-url", method: "GET", path: (c) => `${RUNS}/${c.id}/commit-url`, ok: 200, okJson: () => ({ commit_url: `https://github.com/owner/repo/commit/${HASH}` }) },
  { label: "GET /api/v1/runs/{id}/repo-url", method: "GET", path: (c) => `${RUNS}/${c.id}/repo-url`, ok: 200, okJson: () => ({ repo_url: "https://github.com/owner/repo" }) },
];

const withRun = async (server: TestServer) => ({ id: await createRun(server) });

// ---------------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------------

const BAD_AUTH: [label: string, headers: Record<string, string>][] = [
  ["no Authorization header", {}],
  ["scheme Token", { authorization: `Token ${TOKEN}` }],
  ["scheme Basic", { authorization: `Basic ${btoa(`user:${TOKEN}`)}` }],
  ["Bearer alone", { authorization: "Bearer" }],
  ["the token without a scheme", { authorization: TOKEN }],
  ["wrong token", { authorization: "Bearer wrong-token" }],
  ["token with an extra character", { authorization: `Bearer ${TOKEN}x` }],
  ["token missing its last character", { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
  ["token in the wrong case", { authorization: `Bearer ${TOKEN.toLowerCase()}` }],
  ["token followed by another word", { authorization: `Bearer ${TOKEN} extra` }],
  ["empty header", { authorization: "" }],
];

const unauthorized: Scenario[] = PROTECTED.flatMap((route) =>
  BAD_AUTH.map(
    ([label, headers]): Scenario => ({
      name: `${route.label}: ${label} → 401 with WWW-Authenticate: Bearer`,
      method: route.method,
      setup: withRun,
      path: route.path,
      body: route.body,
      headers,
      status: 401,
      responseHeaders: { "www-authenticate": "Bearer" },
      excludes: [TOKEN, TOKEN.slice(0, -1), TOKEN.toLowerCase()],
      after: async (server, body, ctx) => {
        expect(typeof (body as { detail: unknown }).detail).toBe("string");
        // nothing happened to the run
        const run = (await (await server.call("GET", `${RUNS}/${ctx.id}`)).json()) as Record<string, unknown>;
        expect(run).toMatchObject({ status: "running", git_commit_hash: HASH, git_commit_source: null });
      },
    }),
  ),
);

const SCHEMES = ["Bearer", "bearer", "BEARER", "bEaReR"];

const authorized: Scenario[] = PROTECTED.flatMap((route) =>
  SCHEMES.map(
    (scheme): Scenario => ({
      name: `${route.label}: "${scheme} <token>" works`,
      method: route.method,
      setup: withRun,
      path: route.path,
      body: route.body,
      headers: { authorization: `${scheme} ${TOKEN}` },
      status: route.ok,
      excludes: [TOKEN],
      after: (_s, body, ctx) => expect(body).toMatchObject(route.okJson(ctx) as object),
    }),
  ),
);

const authEffects: Scenario[] = [
  {
    name: "an authorized PATCH is applied",
    method: "PATCH",
    setup: withRun,
    path: (c) => `${RUNS}/${c.id}`,
    body: { status: "failed", output_summary: "done" },
    headers: GOOD,
    status: 200,
    after: async (server, _b, ctx) => {
      expect(await (await server.call("GET", `${RUNS}/${ctx.id}`)).json()).toMatchObject({ status: "failure", output_summary: "done" });
    },
  },
  {
    name: "an unauthorized POST stores nothing",
    method: "POST",
    path: RUNS,
    body: { ...makeRun(), event_id: "never-stored" },
    status: 401,
    after: async (server) => {
      expect((await server.call("GET", `${RUNS}/never-stored`)).status).toBe(404);
    },
  },
];

// unauthenticated clients never get their bodies read: invalid JSON, invalid UTF-8, oversized → 401
const BODY_ROUTES = PROTECTED.filter((r) => r.body);
const unparsed: Scenario[] = BODY_ROUTES.flatMap((route): Scenario[] => [
  {
    name: `${route.label}: invalid JSON without auth → 401, not 422`,
    method: route.method,
    setup: withRun,
    path: route.path,
    body: "{not json",
    status: 401,
    responseHeaders: { "www-authenticate": "Bearer" },
    after: (_s, body) => expect(typeof (body as { detail: unknown }).detail).toBe("string"),
  },
  {
    name: `${route.label}: invalid JSON with a wrong token → 401, not 422`,
    method: route.method,
    setup: withRun,
    path: route.path,
    body: "[[[",
    headers: { authorization: "Bearer nope" },
    status: 401,
    responseHeaders: { "www-authenticate": "Bearer" },
  },
  {
    name: `${route.label}: invalid UTF-8 without auth → 401, not 422`,
    method: route.method,
    setup: withRun,
    path: route.path,
    body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    status: 401,
  },
  {
    name: `${route.label}: valid body missing fields without auth → 401, not 422`,
    method: route.method,
    setup: withRun,
    path: route.path,
    body: {},
    status: 401,
  },
  {
    name: `${route.label}: a body just over its size limit without auth → 401, not 413`,
    method: route.method,
    setup: withRun,
    path: route.path,
    // single-run limit 1 MiB, batch limit 32 MiB (defaults)
    body: () => `{"x":"${"a".repeat(route.label.endsWith("/batch") ? 32 * 1024 * 1024 + 4096 : 1024 * 1024 + 4096)}"}`,
    status: 401,
    responseHeaders: { "www-authenticate": "Bearer" },
  },
  {
    name: `${route.label}: a 40 MiB body without auth → 401, not 413`,
    method: route.method,
    setup: withRun,
    path: route.path,
    body: () => `{"x":"${"a".repeat(40 * 1024 * 1024)}"}`,
    status: 401,
    responseHeaders: { "www-authenticate": "Bearer" },
  },
  {
    name: `${route.label}: invalid JSON with the right token → 422 json_invalid`,
    method: route.method,
    setup: withRun,
    path: route.path,
    body: "{not json",
    headers: GOOD,
    status: 422,
    json: { detail: [{ type: "json_invalid" }] },
  },
]);

const OPEN: [label: string, path: (c: Record<string, string>) => string, json: (c: Record<string, string>) => unknown][] = [
  ["GET /health", () => "/health", () => ({ status: "ok" })],
  ["GET /metrics", () => "/metrics", () => ({ performance: { journal_mode: "WAL" } })],
  ["GET /api/v1/metadata", () => "/api/v1/metadata", () => ({ agent_names: ["test-agent"] })],
  ["GET /api/v1/runs", (c) => `${RUNS}?run_id=${c.runId}`, (c) => [{ event_id: c.id }]],
  ["GET /api/v1/runs/{id}", (c) => `${RUNS}/${c.id}`, (c) => ({ event_id: c.id })],
];

const open: Scenario[] = OPEN.flatMap(([label, path, json]) =>
  (
    [
      ["without a token", {}],
      ["with a wrong token (ignored)", { authorization: "Bearer wrong" }],
      ["with a malformed header (ignored)", { authorization: "Token x" }],
    ] as const
  ).map(
    ([how, headers]): Scenario => ({
      name: `${label} ${how} → 200`,
      method: "GET",
      setup: async (server) => {
        const runId = `open-${crypto.randomUUID()}`;
        return { id: await createRun(server, { run_id: runId }), runId };
      },
      path,
      headers,
      status: 200,
      excludes: [TOKEN],
      after: (_s, body, ctx) => expect(body).toMatchObject(json(ctx) as object),
    }),
  ),
);

runScenarios("auth: missing, malformed and wrong tokens are 401", unauthorized, AUTH_ENV);
runScenarios("auth: the right token works, scheme in any case", authorized, AUTH_ENV);
runScenarios("auth: effects", authEffects, AUTH_ENV);
runScenarios("auth: bodies of unauthenticated requests are never read", unparsed, AUTH_ENV);
runScenarios("auth: health, metrics, metadata, GET runs and GET run never need auth", open, AUTH_ENV);

runScenarios("auth disabled (default): protected routes need no token", [
  { name: "POST /api/v1/runs without a token → 201", method: "POST", path: RUNS, body: () => makeRun(), status: 201, json: { status: "created" } },
  { name: "POST /api/v1/runs with any Authorization header → 201", method: "POST", path: RUNS, body: () => makeRun(), headers: { authorization: "Bearer whatever" }, status: 201 },
]);

// ---------------------------------------------------------------------------------------------
// Rate limiting (RPM 3): the 4th request to a limited route is a 429
// ---------------------------------------------------------------------------------------------

const LIMIT_DETAIL = { detail: "Rate limit exceeded. Max 3 requests per minute." };
const LIMIT_HEADERS = { "retry-after": "60", "x-ratelimit-limit": "3", "x-ratelimit-remaining": "0" };

/** Sends `n` requests, asserting none was limited; returns their statuses. */
async function spend(server: TestServer, n: number, method: string, path: string, body?: () => unknown, headers?: Record<string, string>) {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const response = await server.call(method, path, body?.(), headers);
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  expect(statuses).not.toContain(429);
  return statuses;
}

interface LimitedRoute {
  label: string;
  method: string;
  path: string;
  body?: () => unknown;
  firstStatus: number;
}

const LIMITED: LimitedRoute[] = [
  { label: "POST /api/v1/runs", method: "POST", path: RUNS, body: () => makeRun(), firstStatus: 201 },
  { label: "POST /api/v1/runs/batch", method: "POST", path: `${RUNS}/batch`, body: () => [makeRun()], firstStatus: 200 },
  { label: "GET /api/v1/runs", method: "GET", path: RUNS, firstStatus: 200 },
  { label: "GET /api/v1/runs/{id}", method: "GET", path: `${RUNS}/unknown-id`, firstStatus: 404 },
  { label: "PATCH /api/v1/runs/{id}", method: "PATCH", path: `${RUNS}/unknown-id`, body: () => ({ status: "success" }), firstStatus: 404 },
  { label: "POST /api/v1/runs/{id}/associate-commit", method: "POST", path: `${RUNS}/unknown-id/associate-commit`, body: () => ({ commit_hash: HASH, commit_source: "llm" }), firstStatus: 404 },
  { label: "GET /api/v1/runs/{id}/commit-url", method: "GET", path: `${RUNS}/unknown-id/commit-url`, firstStatus: 404 },
  { label: "GET /api/v1/runs/{id}/repo-url", method: "GET", path: `${RUNS}/unknown-id/repo-url`, firstStatus: 404 },
  { label: "GET /api/v1/metadata", method: "GET", path: "/api/v1/metadata", firstStatus: 200 },
];

for (const route of LIMITED) {
  runScenarios(
    `rate limit: ${route.label}`,
    [
      {
        name: "the first 3 requests pass, the 4th is a 429 with the contract's body and headers",
        method: route.method,
        setup: async (server) => {
          const statuses = await spend(server, 3, route.method, route.path, route.body);
          expect(statuses).toEqual([route.firstStatus, route.firstStatus, route.firstStatus]);
          return { fourth: `limited-${crypto.randomUUID()}` };
        },
        path: route.path,
        body: route.body && ((ctx: Record<string, string>) => (route.path === RUNS ? makeRun({ event_id: ctx.fourth }) : route.body!())),
        status: 429,
        json: LIMIT_DETAIL,
        responseHeaders: LIMIT_HEADERS,
        after: async (server, body, ctx) => {
          expect(body).toEqual(LIMIT_DETAIL);
          // a limited write stores nothing (checked on the store: the HTTP GET is limited too now)
          expect(server.app.store.getRun(ctx.fourth!)).toBeNull();
        },
      },
      {
        name: "the 5th is a 429 as well",
        method: route.method,
        path: route.path,
        body: route.body,
        status: 429,
        json: LIMIT_DETAIL,
        responseHeaders: LIMIT_HEADERS,
      },
      {
        name: "/health still answers while the client is limited",
        method: "GET",
        path: "/health",
        status: 200,
        json: { status: "ok" },
      },
    ],
    RATE_ENV,
  );
}

runScenarios(
  "rate limit: one bucket per client across all limited routes",
  [
    {
      name: "GET runs, GET metadata, POST runs share the budget: the 4th request overall is limited",
      method: "GET",
      setup: async (server) => {
        await spend(server, 1, "GET", RUNS);
        await spend(server, 1, "GET", "/api/v1/metadata");
        await spend(server, 1, "POST", RUNS, () => makeRun());
      },
      path: `${RUNS}/anything`,
      status: 429,
      json: LIMIT_DETAIL,
      responseHeaders: LIMIT_HEADERS,
    },
  ],
  RATE_ENV,
);

runScenarios(
  "rate limit: /health and /metrics are never limited",
  [
    {
      name: "20 calls each to /health and /metrics, then the 21st /health is 200",
      method: "GET",
      setup: async (server) => {
        const statuses = [...(await spend(server, 20, "GET", "/health")), ...(await spend(server, 20, "GET", "/metrics"))];
        expect(statuses.every((s) => s === 200)).toBe(true);
      },
      path: "/health",
      status: 200,
      json: { status: "ok", version: "2.1.0" },
    },
    {
      name: "/metrics is 200 as well",
      method: "GET",
      path: "/metrics",
      status: 200,
      json: { total_runs: 0 },
    },
    {
      name: "and they did not spend the client's budget: 3 limited requests still pass",
      method: "GET",
      setup: async (server) => {
        expect(await spend(server, 2, "GET", RUNS)).toEqual([200, 200]);
      },
      path: RUNS,
      status: 200,
      json: [],
    },
    {
      name: "then the 4th limited request is a 429",
      method: "GET",
      path: RUNS,
      status: 429,
      json: LIMIT_DETAIL,
      responseHeaders: LIMIT_HEADERS,
    },
    {
      name: "and /metrics is still 200 after that",
      method: "GET",
      path: "/metrics",
      status: 200,
      json: { total_runs: 0 },
    },
  ],
  RATE_ENV,
);

runScenarios(
  "rate limit: route checks (404/405) come before the limit",
  [
    {
      name: "an unknown path is 404 Not Found, not 429, once the client is limited",
      method: "GET",
      setup: async (server) => {
        await spend(server, 3, "GET", RUNS);
        const fourth = await server.call("GET", RUNS);
        expect(fourth.status).toBe(429);
      },
      path: "/api/v1/nope",
      status: 404,
      json: { detail: "Not Found" },
    },
    {
      name: "a wrong method is 405, not 429",
      method: "DELETE",
      path: RUNS,
      status: 405,
      json: { detail: "Method Not Allowed" },
    },
    {
      name: "a known route is still 429",
      method: "GET",
      path: RUNS,
      status: 429,
      json: LIMIT_DETAIL,
    },
  ],
  RATE_ENV,
);

runScenarios(
  "rate limit + auth: the limit is checked before auth",
  [
    {
      name: "limited and unauthenticated → 429, not 401",
      method: "POST",
      setup: async (server) => {
        expect(await spend(server, 3, "GET", RUNS)).toEqual([200, 200, 200]);
      },
      path: RUNS,
      body: () => makeRun(),
      status: 429,
      json: LIMIT_DETAIL,
      responseHeaders: LIMIT_HEADERS,
      excludes: [TOKEN],
    },
    {
      name: "limited with a wrong token and invalid JSON → 429",
      method: "PATCH",
      path: `${RUNS}/x`,
      body: "{",
      headers: { authorization: "Bearer wrong" },
      status: 429,
      json: LIMIT_DETAIL,
    },
    {
      name: "limited with the right token → 429",
      method: "POST",
      path: RUNS,
      body: () => makeRun(),
      headers: GOOD,
      status: 429,
      json: LIMIT_DETAIL,
    },
  ],
  { ...AUTH_ENV, ...RATE_ENV },
);

runScenarios(
  "rate limit + auth: rejected (401) requests count towards the limit",
  [
    {
      name: "three 401s, then the 4th is a 429",
      method: "POST",
      setup: async (server) => {
        expect(await spend(server, 3, "POST", RUNS, () => makeRun())).toEqual([401, 401, 401]);
      },
      path: RUNS,
      body: () => makeRun(),
      headers: GOOD,
      status: 429,
      json: LIMIT_DETAIL,
      responseHeaders: LIMIT_HEADERS,
    },
  ],
  { ...AUTH_ENV, ...RATE_ENV },
);

runScenarios(
  "rate limit: X-Forwarded-For is ignored unless a proxy is configured",
  [
    {
      name: "a new X-Forwarded-For on each request does not get a new bucket",
      method: "GET",
      setup: async (server) => {
        for (const ip of ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) await spend(server, 1, "GET", RUNS, undefined, { "x-forwarded-for": ip });
      },
      path: RUNS,
      headers: { "x-forwarded-for": "203.0.113.4" },
      status: 429,
      json: LIMIT_DETAIL,
      responseHeaders: LIMIT_HEADERS,
    },
  ],
  RATE_ENV,
);

runScenarios(
  "rate limit: X-Forwarded-For from a configured proxy (127.0.0.1) names the client",
  [
    {
      name: "client A spends its 3 requests; client B behind the same proxy still passes",
      method: "GET",
      setup: async (server) => {
        expect(await spend(server, 3, "GET", RUNS, undefined, { "x-forwarded-for": "203.0.113.10" })).toEqual([200, 200, 200]);
      },
      path: RUNS,
      headers: { "x-forwarded-for": "203.0.113.20" },
      status: 200,
      json: [],
    },
    {
      name: "client A's 4th request is a 429",
      method: "GET",
      path: RUNS,
      headers: { "x-forwarded-for": "203.0.113.10" },
      status: 429,
      json: LIMIT_DETAIL,
      responseHeaders: LIMIT_HEADERS,
    },
    {
      name: "a forged left-most hop does not escape the limit (right-most untrusted hop is the client)",
      method: "GET",
      path: RUNS,
      headers: { "x-forwarded-for": "198.51.100.99, 203.0.113.10" },
      status: 429,
      json: LIMIT_DETAIL,
    },
  ],
  { ...RATE_ENV, TELEMETRY_TRUSTED_PROXIES: "127.0.0.1,::1" },
);

runScenarios(
  "rate limit with a higher RPM reports it",
  [
    {
      name: "RPM 5: the 6th request is a 429 naming 5",
      method: "GET",
      setup: async (server) => {
        expect(await spend(server, 5, "GET", RUNS)).toEqual([200, 200, 200, 200, 200]);
      },
      path: RUNS,
      status: 429,
      json: { detail: "Rate limit exceeded. Max 5 requests per minute." },
      responseHeaders: { "retry-after": "60", "x-ratelimit-limit": "5", "x-ratelimit-remaining": "0" },
    },
  ],
  { TELEMETRY_RATE_LIMIT_ENABLED: "true", TELEMETRY_RATE_LIMIT_RPM: "5" },
);

runScenarios("rate limit disabled (default): no 429", [
  {
    name: "10 requests then an 11th all pass",
    method: "GET",
    setup: async (server) => {
      expect(await spend(server, 10, "GET", RUNS)).toEqual(Array(10).fill(200));
    },
    path: RUNS,
    status: 200,
    json: [],
  },
]);

// ---------------------------------------------------------------------------------------------
// Unit: RateLimiter with an injected clock
// ---------------------------------------------------------------------------------------------

/** The HttpError `take` threw, or null when it passed. */
function attempt(limiter: RateLimiter, client: string): HttpError | null {
  try {
    limiter.take(client);
    return null;
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
}

describe("RateLimiter (injected clock)", () => {
  test("capacity RPM: 3 pass, the 4th throws the contract's 429", () => {
    const limiter = new RateLimiter(3, 1000, () => 0);
    expect([attempt(limiter, "a"), attempt(limiter, "a"), attempt(limiter, "a")]).toEqual([null, null, null]);
    const error = attempt(limiter, "a");
    expect(error).not.toBeNull();
    expect(error!.status).toBe(429);
    expect(error!.detail).toBe("Rate limit exceeded. Max 3 requests per minute.");
    expect(error!.headers).toEqual({ "retry-after": "60", "x-ratelimit-limit": "3", "x-ratelimit-remaining": "0" });
  });

  test("refills continuously: one token per 60/RPM seconds", () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(3, 1000, () => now);
    for (let i = 0; i < 3; i++) expect(attempt(limiter, "a")).toBeNull();
    expect(attempt(limiter, "a")?.status).toBe(429);
    now += 19_999; // just short of one token (20 s at 3 rpm)
    expect(attempt(limiter, "a")?.status).toBe(429);
    now += 1; // 20 s since the bucket was emptied: one token
    expect(attempt(limiter, "a")).toBeNull();
    expect(attempt(limiter, "a")?.status).toBe(429);
    now += 40_000; // two more tokens
    expect(attempt(limiter, "a")).toBeNull();
    expect(attempt(limiter, "a")).toBeNull();
    expect(attempt(limiter, "a")?.status).toBe(429);
  });

  test("half-token refills add up; denied attempts do not delay the refill", () => {
    let now = 0;
    const limiter = new RateLimiter(3, 1000, () => now);
    for (let i = 0; i < 3; i++) attempt(limiter, "a");
    now += 10_000;
    expect(attempt(limiter, "a")?.status).toBe(429); // 0.5 token
    now += 10_000;
    expect(attempt(limiter, "a")).toBeNull(); // 1 token after 20 s in total
  });

  test("a long idle refills only up to capacity", () => {
    let now = 0;
    const limiter = new RateLimiter(3, 1000, () => now);
    attempt(limiter, "a");
    now += 3_600_000; // an hour
    const results = Array.from({ length: 5 }, () => attempt(limiter, "a")?.status ?? 200);
    expect(results).toEqual([200, 200, 200, 429, 429]);
  });

  test("clients have independent buckets", () => {
    const limiter = new RateLimiter(3, 1000, () => 0);
    for (let i = 0; i < 3; i++) attempt(limiter, "a");
    expect(attempt(limiter, "a")?.status).toBe(429);
    expect([attempt(limiter, "b"), attempt(limiter, "b"), attempt(limiter, "b")]).toEqual([null, null, null]);
    expect(attempt(limiter, "b")?.status).toBe(429);
    expect(limiter.trackedClients).toBe(2);
  });

  test("memory is bounded: 100,000 distinct clients with maxClients 1000 track at most 1000", () => {
    let now = 0;
    const limiter = new RateLimiter(3, 1000, () => now);
    let max = 0;
    for (let i = 0; i < 100_000; i++) {
      now += 1;
      attempt(limiter, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      if (limiter.trackedClients > max) max = limiter.trackedClients;
    }
    expect(max).toBeLessThanOrEqual(1000);
    expect(limiter.trackedClients).toBeLessThanOrEqual(1000);
    expect(limiter.trackedClients).toBeGreaterThan(0);
  });

  test("a client active during a flood of others is still limited", () => {
    const limiter = new RateLimiter(3, 1000, () => 0);
    for (let i = 0; i < 3; i++) attempt(limiter, "busy");
    for (let i = 0; i < 500; i++) attempt(limiter, `other-${i}`);
    expect(attempt(limiter, "busy")?.status).toBe(429);
    expect(limiter.trackedClients).toBeLessThanOrEqual(1000);
  });
});

// ---------------------------------------------------------------------------------------------
// Unit: clientAddress
// ---------------------------------------------------------------------------------------------

describe("clientAddress", () => {
  const none = new Set<string>();
  const proxy = new Set(["10.0.0.1"]);
  const proxies = new Set(["10.0.0.1", "10.0.0.2"]);

  test("without a forwarded header the peer is the client", () => {
    expect(clientAddress("192.0.2.7", null, none)).toBe("192.0.2.7");
    expect(clientAddress("10.0.0.1", null, proxy)).toBe("10.0.0.1");
    expect(clientAddress("10.0.0.1", "", proxy)).toBe("10.0.0.1");
  });

  test("X-Forwarded-For from an untrusted peer is ignored", () => {
    expect(clientAddress("192.0.2.7", "203.0.113.5", none)).toBe("192.0.2.7");
    expect(clientAddress("192.0.2.7", "203.0.113.5", proxy)).toBe("192.0.2.7");
  });

  test("X-Forwarded-For from a configured proxy names the client", () => {
    expect(clientAddress("10.0.0.1", "203.0.113.5", proxy)).toBe("203.0.113.5");
    expect(clientAddress("10.0.0.1", " 203.0.113.5 ", proxy)).toBe("203.0.113.5");
  });

  test("the right-most hop that is not a trusted proxy is the client (forged left hops ignored)", () => {
    expect(clientAddress("10.0.0.1", "198.51.100.1, 203.0.113.5", proxy)).toBe("203.0.113.5");
    expect(clientAddress("10.0.0.1", "198.51.100.1, 203.0.113.5, 10.0.0.2", proxies)).toBe("203.0.113.5");
  });

  test("::ffff: prefix is removed from IPv4-mapped peers", () => {
    expect(clientAddress("::ffff:192.0.2.7", null, none)).toBe("192.0.2.7");
    expect(clientAddress("::ffff:192.0.2.7", "203.0.113.5", none)).toBe("192.0.2.7");
  });

  test("an IPv4-mapped peer matches a proxy configured in IPv4 form", () => {
    expect(clientAddress("::ffff:10.0.0.1", "203.0.113.5", proxy)).toBe("203.0.113.5");
  });

  test("IPv6 peers are kept as they are", () => {
    expect(clientAddress("2001:db8::1", "203.0.113.5", none)).toBe("2001:db8::1");
    expect(clientAddress("::1", null, none)).toBe("::1");
  });
});

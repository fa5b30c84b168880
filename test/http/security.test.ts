import { describe, expect, test } from "bun:test";
import { RateLimiter } from "../../src/http/rate-limit.ts";
import { runScenarios } from "../support/scenarios.ts";
import { startTestServer } from "../support/server.ts";

const TOKEN = "tok-3f9a1c7e5b2d4f6a8c0e";

runScenarios("CORS is off by default", [
  {
    name: "no Access-Control-Allow-Origin for any origin",
    method: "GET",
    path: "/health",
    headers: { origin: "https://dashboard.example" },
    status: 200,
    after: async (server) => {
      const response = await server.call("GET", "/health", undefined, { origin: "https://dashboard.example" });
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
    },
  },
  {
    name: "a preflight is a plain 405, not a CORS grant",
    method: "OPTIONS",
    path: "/api/v1/runs",
    headers: { origin: "https://dashboard.example", "access-control-request-method": "POST" },
    status: 405,
  },
]);

runScenarios(
  "CORS with an allow-list",
  [
    {
      name: "an allowed origin gets its origin back, Vary: Origin and the exposed headers",
      method: "GET",
      path: "/api/v1/runs",
      headers: { origin: "https://dashboard.example" },
      status: 200,
      responseHeaders: { "access-control-allow-origin": "https://dashboard.example", vary: "Origin" },
    },
    {
      name: "another origin gets no grant",
      method: "GET",
      path: "/api/v1/runs",
      headers: { origin: "https://evil.example" },
      status: 200,
      after: async (server) => {
        const response = await server.call("GET", "/api/v1/runs", undefined, { origin: "https://evil.example" });
        expect(response.headers.get("access-control-allow-origin")).toBeNull();
      },
    },
    {
      name: "a preflight from an allowed origin lists the methods of that path and the headers we accept",
      method: "OPTIONS",
      path: "/api/v1/runs/abc",
      headers: { origin: "https://dashboard.example", "access-control-request-method": "PATCH" },
      status: 204,
      responseHeaders: {
        "access-control-allow-origin": "https://dashboard.example",
        "access-control-allow-methods": "GET, HEAD, PATCH",
        "access-control-allow-headers": "authorization, content-type, x-request-id",
      },
    },
    {
      name: "a preflight for an unknown path is a 404",
      method: "OPTIONS",
      path: "/nope",
      headers: { origin: "https://dashboard.example", "access-control-request-method": "GET" },
      status: 404,
    },
  ],
  { TELEMETRY_CORS_ORIGINS: "https://dashboard.example, https://ops.example" },
);

runScenarios(
  "secrets and paths",
  [
    // ("/docs/../x" and "%2e%2e" are resolved by the URL parser before any routing, so they are not listed.)
    // Routes are matched by exact segments and nothing is read from disk by path, so encoded traversal finds nothing.
    ...["/docs/..%2f..%2fpackage.json", "/docs/scalar.js/../../etc/passwd", "/..%2f..%2fetc/passwd"].map((path) => ({
      name: `no path traversal: ${path}`,
      method: "GET",
      path,
      status: 404,
      excludes: ["root:", '"dependencies"'],
    })),
    {
      name: "a wrong token is never echoed in the 401",
      method: "POST",
      path: "/api/v1/runs",
      headers: { authorization: "Bearer guess-123-secret" },
      body: {},
      status: 401,
      excludes: ["guess-123-secret", TOKEN],
    },
    { name: "/health never shows the token", method: "GET", path: "/health", status: 200, excludes: [TOKEN] },
    { name: "/openapi.json never shows the token", method: "GET", path: "/openapi.json", status: 200, excludes: [TOKEN] },
    {
      name: "credentials inside git_repo never come back from any endpoint",
      method: "POST",
      path: "/api/v1/runs",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: { event_id: "creds-1", run_id: "r", agent_name: "a", job_type: "j", start_time: "2026-01-05T18:40:27Z", git_repo: "https://deploy:ghp_SECRETSECRET@github.com/o/r.git", git_commit_hash: "abcdef1" },
      status: 201,
      after: async (server) => {
        const auth = { authorization: `Bearer ${TOKEN}` };
        for (const path of ["/api/v1/runs/creds-1", "/api/v1/runs?agent_name=a", "/api/v1/runs/creds-1/commit-url", "/api/v1/runs/creds-1/repo-url"]) {
          const text = await (await server.call("GET", path, undefined, auth)).text();
          expect(text).not.toContain("ghp_SECRETSECRET");
          expect(text).not.toContain("deploy:");
        }
      },
    },
  ],
  { TELEMETRY_API_AUTH_ENABLED: "true", TELEMETRY_API_AUTH_TOKEN: TOKEN },
);

describe("rate limiter memory under 100,000 client IPs", () => {
  test("through a trusted proxy, every forwarded IP is limited separately and the limiter never tracks more than its cap", async () => {
    const server = await startTestServer({
      TELEMETRY_RATE_LIMIT_ENABLED: "true",
      TELEMETRY_RATE_LIMIT_RPM: "2",
      TELEMETRY_RATE_LIMIT_MAX_CLIENTS: "1000",
      TELEMETRY_TRUSTED_PROXIES: "127.0.0.1",
    });
    try {
      const statuses = new Map<number, number>();
      for (let i = 0; i < 3000; i++) {
        const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        const response = await server.call("GET", "/api/v1/metadata", undefined, { "x-forwarded-for": `${ip}, 127.0.0.1` });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
      expect(statuses.get(200)).toBe(3000);
      // The same forwarded client is limited; an untrusted peer's X-Forwarded-For would be ignored.
      const same = { "x-forwarded-for": "192.0.2.7" };
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await server.call("GET", "/api/v1/metadata", undefined, same)).status);
      expect(codes).toEqual([200, 200, 429]);
    } finally {
      await server.close();
    }
    const limiter = new RateLimiter(60, 1000);
    for (let i = 0; i < 100_000; i++) limiter.take(`198.51.${i >> 8}.${i & 255}:${i}`);
    expect(limiter.trackedClients).toBe(1000);
  }, 60_000);
});

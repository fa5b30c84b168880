import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_AGENT_SERIES, escapeLabel } from "../../src/api/prometheus.ts";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";

const promtool = Bun.which("promtool");
if (!promtool) console.warn("\n!!! promtool is missing (Debian package 'prometheus'): the promtool check of /metrics is SKIPPED.\n");

const PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

let server: TestServer;
let text: string;
beforeAll(async () => {
  server = await startTestServer({ TELEMETRY_RATE_LIMIT_ENABLED: "true", TELEMETRY_RATE_LIMIT_RPM: "1000" });
  const odd = 'we"ird\\agent\nname';
  // The odd name has two runs so it is among the largest agents and keeps its own series.
  const runs = [makeRun({ agent_name: odd, status: "failed" }), makeRun({ agent_name: odd, status: "failed" }), ...Array.from({ length: MAX_AGENT_SERIES + 50 }, (_, i) => makeRun({ agent_name: `agent-${i}` }))];
  expect((await server.call("POST", "/api/v1/runs/batch", runs)).status).toBe(200);
  await server.call("PATCH", `/api/v1/runs/${runs[2]!.event_id}`, { status: "success" });
  await server.call("GET", "/api/v1/runs/does-not-exist");
  const response = await server.call("GET", "/metrics", undefined, { accept: PROMETHEUS_ACCEPT });
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  text = await response.text();
});
afterAll(() => server.close());

describe("/metrics in the Prometheus text format", () => {
  test("clients that send no Accept or */* keep the contract's JSON", async () => {
    for (const headers of [{}, { accept: "*/*" }, { accept: "application/json" }] as Record<string, string>[]) {
      const response = await server.call("GET", "/metrics", undefined, headers);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect(await response.json()).toHaveProperty("total_runs");
    }
  });

  test("has runs by agent and status, HTTP requests by route and code, latency and group-size histograms, file sizes, rate-limited", () => {
    expect(text).toContain('telemetry_runs{agent_name="agent-0",status="success"} 1');
    expect(text).toContain(`telemetry_runs{agent_name="${escapeLabel('we"ird\\agent\nname')}",status="failure"} 2`);
    expect(text).toMatch(/telemetry_http_requests_total\{route="\/api\/v1\/runs\/batch",code="200"\} 1/);
    expect(text).toMatch(/telemetry_http_requests_total\{route="\/api\/v1\/runs\/\{event_id\}",code="404"\} 1/);
    expect(text).toMatch(/telemetry_http_request_duration_seconds_bucket\{route="\/api\/v1\/runs\/batch",le="\+Inf"\} 1/);
    expect(text).toMatch(/telemetry_write_group_size_count [1-9]/);
    expect(text).toMatch(/telemetry_database_size_bytes [1-9]\d*/);
    expect(text).toMatch(/telemetry_wal_size_bytes \d+/);
    expect(text).toContain("telemetry_http_rate_limited_total 0");
    expect(text).toContain("telemetry_runs_recent_24h ");
  });

  test("label values are escaped and cardinality is bounded: the smallest agents fold into __other__", () => {
    expect(text).toContain('\\"ird\\\\agent\\nname');
    const agents = new Set([...text.matchAll(/^telemetry_runs\{agent_name="((?:[^"\\]|\\.)*)"/gm)].map((m) => m[1]));
    expect(agents.size).toBeLessThanOrEqual(MAX_AGENT_SERIES + 1);
    expect(agents.has("__other__")).toBe(true);
    // Nothing is lost in the folding: the series add up to every stored run.
    const total = [...text.matchAll(/^telemetry_runs\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(total).toBe(MAX_AGENT_SERIES + 52);
  });

  test.skipIf(!promtool)("passes promtool check metrics", async () => {
    const check = Bun.spawn([promtool!, "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(check.stdout).text(), new Response(check.stderr).text(), check.exited]);
    expect({ code, out, err }).toEqual({ code: 0, out: "", err: "" });
  });
});

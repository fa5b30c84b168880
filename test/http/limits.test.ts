import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { MAX_JSON_DEPTH, MAX_TEXT_LENGTH } from "../../src/schema/runs.ts";
import { runScenarios } from "../support/scenarios.ts";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";

const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
const rawRun = (extra: string) => `{"event_id":"deep-${Math.random()}","run_id":"r","agent_name":"a","job_type":"j","start_time":"2026-01-05T18:40:27Z",${extra}}`;

runScenarios(
  "request limits",
  [
    {
      name: "a URL over TELEMETRY_MAX_URL_LENGTH is a 414 naming the setting",
      method: "GET",
      path: `/api/v1/runs/${"x".repeat(1100)}`,
      status: 414,
      includes: ["TELEMETRY_MAX_URL_LENGTH"],
    },
    {
      name: "more query parameters than TELEMETRY_MAX_QUERY_PARAMS is a 400 naming the setting",
      method: "GET",
      path: `/api/v1/runs?${Array.from({ length: 21 }, (_, i) => `p${i}=1`).join("&")}`,
      status: 400,
      includes: ["TELEMETRY_MAX_QUERY_PARAMS"],
    },
    {
      name: "exactly the query parameter limit is fine",
      method: "GET",
      path: `/api/v1/runs?${Array.from({ length: 20 }, (_, i) => `p${i}=1`).join("&")}`,
      status: 200,
    },
    {
      name: "a text field over 64 KiB is a 422 string_too_long at that field",
      method: "POST",
      path: "/api/v1/runs",
      body: makeRun({ output_summary: "x".repeat(MAX_TEXT_LENGTH + 1) }),
      status: 422,
      json: { detail: [{ type: "string_too_long", loc: ["body", "output_summary"], ctx: { max_length: MAX_TEXT_LENGTH } }] },
    },
    {
      name: "error_details may be longer than 64 KiB (tracebacks)",
      method: "POST",
      path: "/api/v1/runs",
      body: makeRun({ error_details: "trace\n".repeat(20_000) }),
      status: 201,
    },
    {
      name: `metrics_json nested ${MAX_JSON_DEPTH} levels is accepted`,
      method: "POST",
      path: "/api/v1/runs",
      body: rawRun(`"metrics_json":${deep(MAX_JSON_DEPTH - 1)}`),
      status: 201,
    },
    {
      name: "metrics_json nested deeper than the limit is a 422 at metrics_json",
      method: "POST",
      path: "/api/v1/runs",
      body: rawRun(`"context_json":${deep(MAX_JSON_DEPTH + 1)}`),
      status: 422,
      json: { detail: [{ type: "value_error", loc: ["body", "context_json"] }] },
    },
    {
      name: "100,000 levels of nesting (which JSON.stringify cannot serialise) is a clean 422, not a 500",
      method: "POST",
      path: "/api/v1/runs",
      body: `{"run_id":"r","metrics_json":${deep(100_000)}}`,
      status: 422,
      includes: ['"loc":["body","metrics_json"]', '"loc":["body","event_id"]'],
    },
  ],
  { TELEMETRY_MAX_URL_LENGTH: "1024", TELEMETRY_MAX_QUERY_PARAMS: "20" },
);

describe("slow clients", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ TELEMETRY_BODY_TIMEOUT_MS: "300" });
  });
  afterAll(() => server.close());

  test("a body that trickles in slower than TELEMETRY_BODY_TIMEOUT_MS gets a 408 and the server keeps answering", async () => {
    const port = new URL(server.base).port;
    const socket = connect(Number(port), "127.0.0.1");
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write("POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"event_id\":");
    // Bun's fetch cannot send a body this slowly, so this speaks HTTP over a raw socket.
    while (!Buffer.concat(received).toString().includes("\r\n\r\n{")) await Bun.sleep(20);
    socket.destroy();
    const text = Buffer.concat(received).toString();
    expect(text).toContain("408");
    expect(text).toContain("not received within 300 ms");
    expect((await server.call("GET", "/health")).status).toBe(200);
  });
});

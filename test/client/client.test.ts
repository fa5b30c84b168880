import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { TelemetryClient, TelemetryError, type RunRecord } from "local-telemetry-api/client";
import { startTestServer, type TestServer } from "../support/server.ts";
import { tempDir, testOptions, useServer } from "./helpers.ts";

let server: TestServer;
useServer((started) => (server = started));

const ZONED = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** A client on the test server, with its own spool and the failures it reports collected. */
function client(extra: ConstructorParameters<typeof TelemetryClient>[0] = {}) {
  const errors: TelemetryError[] = [];
  const requests: string[] = [];
  const telemetry = new TelemetryClient({
    url: server.base,
    ...testOptions(tempDir(), errors),
    fetch: (url, init) => {
      requests.push(`${init.method} ${new URL(url).pathname}`);
      return fetch(url, init);
    },
    ...extra,
  });
  return { telemetry, errors, requests };
}

async function stored(eventId: string): Promise<RunRecord> {
  const response = await server.call("GET", `/api/v1/runs/${eventId}`);
  expect(response.status).toBe(200);
  return (await response.json()) as RunRecord;
}

describe("TelemetryClient against the real server", () => {
  test("the full lifecycle: start, update, associate a commit, end with a computed duration, read back", async () => {
    const { telemetry, errors } = client();
    const run = await telemetry.startRun({ agent_name: "sdk-lifecycle", job_type: "report", git_repo: "https://github.com/acme/widget" });
    expect(run.result).toEqual({ ok: true, status: 201, body: { status: "created", event_id: run.event_id, run_id: run.run_id } });
    expect(run.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(run.start_time).toMatch(ZONED);

    expect((await telemetry.updateRun(run, { items_succeeded: 41, metrics_json: { tokens: 1234 } })).ok).toBe(true);
    const associated = await telemetry.associateCommit(run, { commit_hash: "abc1234567890", commit_source: "llm", commit_author: "Claude <noreply@anthropic.com>" });
    expect(associated).toMatchObject({ ok: true, body: { status: "success", commit_hash: "abc1234567890" } });
    const ended = await telemetry.endRun(run, { items_succeeded: 42 });
    expect(ended).toMatchObject({ ok: true, body: { fields_updated: ["status", "end_time", "duration_ms", "items_succeeded"] } });

    const record = await telemetry.getRun(run.event_id);
    expect(record).toMatchObject({
      event_id: run.event_id,
      run_id: run.run_id,
      agent_name: "sdk-lifecycle",
      job_type: "report",
      status: "success",
      start_time: run.start_time,
      host: hostname(),
      items_succeeded: 42,
      metrics_json: { tokens: 1234 },
      git_commit_hash: "abc1234567890",
      git_commit_source: "llm",
      commit_url: "https://github.com/acme/widget/commit/abc1234567890",
    });
    expect(record!.end_time).toMatch(ZONED);
    expect(Number.isInteger(record!.duration_ms) && record!.duration_ms! >= 0).toBe(true);
    expect(Date.parse(record!.end_time!)).toBeGreaterThanOrEqual(Date.parse(run.start_time));

    expect((await telemetry.queryRuns({ agent_name: "sdk-lifecycle", status: ["success", "failure"] })).map((r) => r.event_id)).toEqual([run.event_id]);
    expect(await telemetry.getRun("no-such-run")).toBeNull();
    expect(errors).toEqual([]);
  });

  test("writes for one run are sent in order even when the caller does not wait", async () => {
    const { telemetry, errors } = client();
    const { run } = telemetry.beginRun({ agent_name: "sdk-order", job_type: "j" });
    const results = await Promise.all([
      telemetry.updateRun(run, { items_failed: 5 }),
      telemetry.associateCommit(run, { commit_hash: "deadbeef", commit_source: "ci" }),
      telemetry.endRun(run, { status: "partial" }),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(await stored(run.event_id)).toMatchObject({ status: "partial", items_failed: 5, git_commit_hash: "deadbeef" });
    expect(errors).toEqual([]);
  });

  test("createBatch fills in ids; sending the same runs again counts duplicates", async () => {
    const { telemetry } = client();
    const runs = [1, 2, 3].map((i) => ({ agent_name: "sdk-batch", job_type: "j", run_id: `b-${i}`, status: "success" as const }));
    const first = await telemetry.createBatch(runs);
    expect(first).toMatchObject({ ok: true, body: { inserted: 3, duplicates: 0, total: 3 } });
    const stored = await telemetry.queryRuns({ agent_name: "sdk-batch" });
    expect(stored.map((r) => r.run_id).sort()).toEqual(["b-1", "b-2", "b-3"]);
    const again = await telemetry.createBatch(stored.map(({ event_id, run_id, start_time }) => ({ event_id, run_id, start_time, agent_name: "sdk-batch", job_type: "j" })));
    expect(again).toMatchObject({ ok: true, body: { inserted: 0, duplicates: 3 } });
  });

  test("track records success and returns the value", async () => {
    const { telemetry, errors } = client();
    let eventId = "";
    const value = await telemetry.track("sdk-track", "ok-job", async (run) => {
      eventId = run.event_id;
      await telemetry.updateRun(run, { items_succeeded: 7 });
      return "result";
    });
    expect(value).toBe("result");
    const record = await stored(eventId);
    expect(record).toMatchObject({ status: "success", items_succeeded: 7, error_summary: null });
    expect(record.end_time).toMatch(ZONED);
    expect(errors).toEqual([]);
  });

  test("track records failure with the error, and rethrows the very same error", async () => {
    const { telemetry } = client();
    const boom = new RangeError("disk quota\nexceeded");
    let eventId = "";
    const tracked = telemetry.track("sdk-track", "bad-job", (run) => {
      eventId = run.event_id;
      throw boom;
    });
    expect(await tracked.catch((e) => e)).toBe(boom);
    const record = await stored(eventId);
    expect(record.status).toBe("failure");
    expect(record.error_summary).toBe("RangeError: disk quota");
    expect(record.error_details).toContain("client.test.ts");
  });

  test("a validation error is reported once, clearly, and neither retried, spooled nor thrown", async () => {
    const { telemetry, errors, requests } = client();
    const result = await telemetry.startRun({ agent_name: "sdk-invalid", job_type: "j", start_time: "2026-01-05 18:40:27" });
    expect(result.result.ok).toBe(false);
    expect(requests).toEqual(["POST /api/v1/runs"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.kind).toBe("rejected");
    expect(errors[0]!.message).toStartWith("POST /api/v1/runs was rejected with 422: start_time: ");
    expect(telemetry.spool!.isEmpty()).toBe(true);
  });

  test("a body JSON cannot encode is reported as the caller's mistake, never thrown", async () => {
    const { telemetry, errors, requests } = client();
    const run = await telemetry.startRun({ agent_name: "sdk-bigint", job_type: "j", metrics_json: { big: 10n } });
    expect(run.result).toMatchObject({ ok: false, spooled: false, error: { kind: "rejected" } });
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining("POST /api/v1/runs: the body cannot be sent as JSON")]);
    expect(requests).toEqual([]);
  });

  test("strict mode throws what it would otherwise report", async () => {
    const { telemetry } = client({ strict: true });
    const rejected = await telemetry.startRun({ agent_name: "sdk-strict", job_type: "j", metrics_json: [1] as unknown as Record<string, unknown> }).catch((e) => e);
    expect(rejected).toBeInstanceOf(TelemetryError);
    expect(rejected).toMatchObject({ kind: "rejected", status: 422, spooled: false });
    const missing = await telemetry.updateRun("no-such-run", { status: "success" }).catch((e) => e);
    expect(missing).toMatchObject({ kind: "rejected", status: 404, message: expect.stringContaining("Run not found: no-such-run") });
    expect(await telemetry.track("sdk-strict", "j", () => 5)).toBe(5);
  });

  test("settings come from TELEMETRY_API_URL and TELEMETRY_API_AUTH_TOKEN; a wrong token is a clear 401", async () => {
    const secured = await startTestServer({ TELEMETRY_API_AUTH_ENABLED: "true", TELEMETRY_API_AUTH_TOKEN: "t0ken" });
    try {
      const errors: TelemetryError[] = [];
      const good = new TelemetryClient({ ...testOptions(tempDir(), errors), env: { TELEMETRY_API_URL: `${secured.base}/`, TELEMETRY_API_AUTH_TOKEN: "t0ken" } });
      expect(good.url).toBe(secured.base);
      expect((await good.startRun({ agent_name: "sdk-auth", job_type: "j" })).result.ok).toBe(true);
      const bad = new TelemetryClient({ ...testOptions(tempDir(), errors), url: secured.base, env: { TELEMETRY_API_AUTH_TOKEN: "wrong" } });
      expect((await bad.startRun({ agent_name: "sdk-auth", job_type: "j" })).result).toMatchObject({ ok: false, spooled: false });
      expect(errors.map((e) => [e.kind, e.status])).toEqual([["rejected", 401]]);
    } finally {
      await secured.close();
    }
  });
});

import { afterAll, expect, test } from "bun:test";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TelemetryClient, type RunRecord, type TelemetryError } from "../../src/client/index.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { freePort, removeTempDirs, tempDir, testOptions } from "./helpers.ts";

afterAll(removeTempDirs);

/** A server on a fixed port and database, so it can go away and come back where clients expect it. */
function serverAt(port: number, dbPath: string): Promise<TestServer> {
  return startTestServer({ TELEMETRY_API_PORT: String(port) }, dbPath);
}

async function runsOf(server: TestServer, agent: string): Promise<RunRecord[]> {
  return (await (await server.call("GET", `/api/v1/runs?agent_name=${agent}&limit=1000`)).json()) as RunRecord[];
}

const spoolLines = (dir: string) => readFileSync(join(dir, "spool.ndjson"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { op: string; event_id: string });

test("server down → spool → server up → replay: every write lands once, none lost, none duplicated", async () => {
  const port = freePort();
  const dbPath = join(tempDir(), "telemetry.sqlite");
  const spoolDir = tempDir();
  const errors: TelemetryError[] = [];
  const telemetry = new TelemetryClient({ url: `http://127.0.0.1:${port}`, ...testOptions(spoolDir, errors) });

  // Before the outage: run A is created normally.
  let server = await serverAt(port, dbPath);
  const a = await telemetry.startRun({ agent_name: "sdk-outage", job_type: "j", run_id: "A" });
  expect(a.result.ok).toBe(true);
  await server.close();

  // During it: every write goes to the spool, none throws, one line is reported.
  expect((await telemetry.updateRun(a, { items_succeeded: 10 })).ok).toBe(false);
  const b = await telemetry.startRun({ agent_name: "sdk-outage", job_type: "j", run_id: "B" });
  expect(b.result).toMatchObject({ ok: false, spooled: true, error: { kind: "unreachable" } });
  await telemetry.updateRun(b, { items_succeeded: 2, metrics_json: { step: 1 } });
  await telemetry.associateCommit(b, { commit_hash: "0123456789abcdef", commit_source: "llm" });
  const c = await telemetry.startRun({ agent_name: "sdk-outage", job_type: "j", run_id: "C" });
  await telemetry.endRun(b, { status: "failure", error_summary: "boom" });
  await telemetry.endRun(a);
  const batch = await telemetry.createBatch([1, 2].map((i) => ({ agent_name: "sdk-outage", job_type: "j", run_id: `D${i}` })));
  expect(batch).toMatchObject({ ok: false, spooled: true });
  expect(spoolLines(spoolDir).map((l) => `${l.op}:${l.event_id === a.event_id ? "A" : l.event_id === b.event_id ? "B" : l.event_id === c.event_id ? "C" : "D"}`)).toEqual([
    "update:A", "create:B", "update:B", "associate:B", "create:C", "update:B", "update:A", "create:D", "create:D",
  ]);
  expect(errors).toHaveLength(1);
  expect(errors[0]!.message).toContain(`unreachable`);
  expect(errors[0]!.message).toContain(`spooled to ${spoolDir}`);

  // A crash right after a replay must not cost anything either: keep a copy to replay twice.
  const copy = join(tempDir(), "copy.ndjson");
  copyFileSync(join(spoolDir, "spool.ndjson"), copy);

  server = await serverAt(port, dbPath);
  try {
    expect(await telemetry.flush()).toEqual({ delivered: 9, rejected: 0, pendingBytes: 0 });
    const rows = await runsOf(server, "sdk-outage");
    expect(rows.map((r) => r.run_id).sort()).toEqual(["A", "B", "C", "D1", "D2"]);
    const byRun = Object.fromEntries(rows.map((r) => [r.run_id, r]));
    expect(byRun.A).toMatchObject({ status: "success", items_succeeded: 10 });
    expect(byRun.A!.duration_ms).toBeGreaterThanOrEqual(0);
    expect(byRun.B).toMatchObject({ status: "failure", error_summary: "boom", items_succeeded: 2, metrics_json: { step: 1 }, git_commit_hash: "0123456789abcdef", git_commit_source: "llm" });
    expect(byRun.C).toMatchObject({ status: "running" });
    // Spooled runs keep the time they happened, not the time of the replay.
    expect(Date.parse(byRun.B!.created_at)).toBeLessThan(Date.parse(byRun.A!.updated_at!));

    copyFileSync(copy, join(spoolDir, "spool.ndjson"));
    expect(await telemetry.flush()).toEqual({ delivered: 9, rejected: 0, pendingBytes: 0 });
    const again = await runsOf(server, "sdk-outage");
    expect(again).toHaveLength(5);
    expect(again.map(({ updated_at: _, ...rest }) => rest).sort((x, y) => x.id - y.id)).toEqual(rows.map(({ updated_at: _, ...rest }) => rest).sort((x, y) => x.id - y.id));
    expect(errors).toHaveLength(1);
  } finally {
    await server.close();
  }
});

test("a PATCH for a run still in the spool waits for its POST, in this process and in the next", async () => {
  const port = freePort();
  const dbPath = join(tempDir(), "telemetry.sqlite");
  const spoolDir = tempDir();
  const errors: TelemetryError[] = [];
  const options = { url: `http://127.0.0.1:${port}`, ...testOptions(spoolDir, errors) };
  const first = new TelemetryClient(options);
  const run = await first.startRun({ agent_name: "sdk-wait", job_type: "j" });
  expect(run.result.ok).toBe(false);

  // Another client (as a later process would) ends the run while the server is still down: it queues behind the POST.
  const second = new TelemetryClient(options);
  const requests: string[] = [];
  const watched = new TelemetryClient({ ...options, fetch: (url, init) => (requests.push(`${init.method} ${new URL(url).pathname}`), fetch(url, init)) });
  expect(await second.updateRun(run.event_id, { items_succeeded: 3 })).toMatchObject({ ok: false, spooled: true });

  const server = await serverAt(port, dbPath);
  try {
    // Server back: ending the run replays the spooled POST and PATCH first, then sends this PATCH directly.
    expect((await watched.endRun(run, { status: "success" })).ok).toBe(true);
    expect(requests).toEqual(["GET /health", "POST /api/v1/runs/batch", `PATCH /api/v1/runs/${run.event_id}`]);
    expect(await runsOf(server, "sdk-wait")).toMatchObject([{ status: "success", items_succeeded: 3 }]);
    expect(errors.filter((e) => e.kind === "rejected")).toEqual([]);
  } finally {
    await server.close();
  }
});

test("a spooled run the server refuses is set aside and reported, and does not block the others", async () => {
  const port = freePort();
  const spoolDir = tempDir();
  const errors: TelemetryError[] = [];
  const telemetry = new TelemetryClient({ url: `http://127.0.0.1:${port}`, ...testOptions(spoolDir, errors) });
  await telemetry.startRun({ agent_name: "sdk-poison", job_type: "j", run_id: "good-1" });
  await telemetry.startRun({ agent_name: "sdk-poison", job_type: "j", run_id: "bad", start_time: "yesterday" });
  await telemetry.startRun({ agent_name: "sdk-poison", job_type: "j", run_id: "good-2" });

  const server = await serverAt(port, join(tempDir(), "telemetry.sqlite"));
  try {
    expect(await telemetry.flush()).toEqual({ delivered: 2, rejected: 1, pendingBytes: 0 });
    expect((await runsOf(server, "sdk-poison")).map((r) => r.run_id).sort()).toEqual(["good-1", "good-2"]);
    expect(errors.map((e) => e.kind)).toEqual(["unreachable", "rejected"]);
    expect(errors[1]!.message).toMatch(/^spooled run .+ was rejected with 422: start_time: .+ \(kept in .+rejected\.ndjson\)$/);
    expect(readFileSync(join(spoolDir, "rejected.ndjson"), "utf8")).toContain('"run_id":"bad"');
  } finally {
    await server.close();
  }
});

test("with the server down, the first write pays for the retries and the next ones go straight to the spool", async () => {
  const calls: string[] = [];
  const telemetry = new TelemetryClient({
    url: `http://127.0.0.1:${freePort()}`,
    ...testOptions(tempDir()),
    fetch: (url, init) => (calls.push(`${init.method} ${new URL(url).pathname}`), fetch(url, init)),
  });
  await telemetry.track("sdk-hold", "j", async (run) => {
    await telemetry.updateRun(run, { items_succeeded: 1 });
  });
  await telemetry.startRun({ agent_name: "sdk-hold", job_type: "j" });
  expect(calls).toEqual(Array(4).fill("POST /api/v1/runs"));
  expect(telemetry.spool!.claim()!.entries.map((e) => e.op)).toEqual(["create", "update", "update", "create"]);
});

test("a full spool drops the new event and says so", async () => {
  const errors: TelemetryError[] = [];
  const telemetry = new TelemetryClient({ url: `http://127.0.0.1:${freePort()}`, ...testOptions(tempDir(), errors), spoolMaxBytes: 600 });
  expect((await telemetry.startRun({ agent_name: "sdk-full", job_type: "j" })).result).toMatchObject({ spooled: true });
  expect((await telemetry.startRun({ agent_name: "sdk-full", job_type: "j", input_summary: "x".repeat(600) })).result).toMatchObject({ ok: false, spooled: false, error: { kind: "spool" } });
  expect(errors.map((e) => e.kind)).toEqual(["unreachable", "spool"]);
  expect(errors[1]!.message).toContain("is full (600 bytes)");
});

import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAINTENANCE_STATEMENTS } from "../../src/store/maintenance.ts";
import { RunStore } from "../../src/store/run-store.ts";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";
import { fakeClock, postBatches } from "./helpers.ts";

// TELEMETRY_STALE_RUN_AFTER: runs still `running` that long after start_time become `timeout`, with a note in
// error_summary and a new updated_at; the agent's own later PATCH still wins.
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const NOTE = "Marked timeout by the server: still running 6h after start_time (TELEMETRY_STALE_RUN_AFTER)";

async function get(server: TestServer, eventId: string): Promise<Record<string, unknown>> {
  return (await (await server.call("GET", `/api/v1/runs/${eventId}`)).json()) as Record<string, unknown>;
}

async function startStale() {
  const clock = fakeClock("2026-01-05T12:00:00Z"); // cutoff 06:00Z
  server = await startTestServer({ TELEMETRY_STALE_RUN_AFTER: "6h" }, undefined, { now: clock.now, jobTimers: false });
  return { server, clock, stale: server.app.jobs!.stale! };
}

test("only runs still running that started before now - 6h are marked; the note, status and updated_at are set", async () => {
  const { server, stale } = await startStale();
  const runs = {
    stale: makeRun({ start_time: "2026-01-05T00:00:00Z" }),
    zoned: makeRun({ start_time: "2026-01-05T01:59:59-04:00" }), // 05:59:59Z: before the cutoff as an instant
    atCutoff: makeRun({ start_time: "2026-01-05T06:00:00Z" }),
    recent: makeRun({ start_time: "2026-01-05T10:00:00Z" }),
    finished: makeRun({ start_time: "2026-01-05T00:00:00Z", status: "success" }),
    withSummary: makeRun({ start_time: "2026-01-05T00:00:00Z", error_summary: "retrying upstream" }),
  };
  await postBatches(server, Object.values(runs));
  const before = await get(server, runs.stale.event_id as string);

  expect(await stale.tick()).toBe(3);
  const now = await get(server, runs.stale.event_id as string);
  expect(now).toMatchObject({ status: "timeout", error_summary: NOTE, updated_at: "2026-01-05T12:00:00.000000+00:00" });
  const unchanged = (run: Record<string, unknown>) => ({ ...run, status: null, error_summary: null, updated_at: null });
  expect(unchanged(now)).toEqual(unchanged(before)); // nothing else changed
  expect(await get(server, runs.zoned.event_id as string)).toMatchObject({ status: "timeout" });
  expect(await get(server, runs.withSummary.event_id as string)).toMatchObject({ status: "timeout", error_summary: `${NOTE}\nretrying upstream` });
  for (const kept of [runs.atCutoff, runs.recent]) expect(await get(server, kept.event_id as string)).toMatchObject({ status: "running", error_summary: null });
  expect(await get(server, runs.finished.event_id as string)).toMatchObject({ status: "success", error_summary: null });

  expect(await stale.tick()).toBe(0); // already marked
  const list = (await (await server.call("GET", "/api/v1/runs?status=timeout")).json()) as unknown[];
  expect(list.length).toBe(3);
});

test("a later PATCH from the agent wins: its status replaces timeout, and the server's note goes with it", async () => {
  const { server, stale } = await startStale();
  const plain = makeRun({ start_time: "2026-01-05T00:00:00Z" });
  const withSummary = makeRun({ start_time: "2026-01-05T00:00:00Z", error_summary: "retrying upstream" });
  const ownSummary = makeRun({ start_time: "2026-01-05T00:00:00Z" });
  const noStatus = makeRun({ start_time: "2026-01-05T00:00:00Z" });
  await postBatches(server, [plain, withSummary, ownSummary, noStatus]);
  expect(await stale.tick()).toBe(4);

  const patch = (run: Record<string, unknown>, body: unknown) => server.call("PATCH", `/api/v1/runs/${run.event_id}`, body);
  expect((await patch(plain, { status: "success", end_time: "2026-01-05T12:30:00Z" })).status).toBe(200);
  expect(await get(server, plain.event_id as string)).toMatchObject({ status: "success", error_summary: null, end_time: "2026-01-05T12:30:00Z" });
  expect((await patch(withSummary, { status: "failed" })).status).toBe(200);
  expect(await get(server, withSummary.event_id as string)).toMatchObject({ status: "failure", error_summary: "retrying upstream" });
  expect((await patch(ownSummary, { status: "failure", error_summary: "disk full" })).status).toBe(200);
  expect(await get(server, ownSummary.event_id as string)).toMatchObject({ status: "failure", error_summary: "disk full" });
  // A PATCH that does not set the status leaves the server's verdict and note in place.
  expect((await patch(noStatus, { items_succeeded: 3 })).status).toBe(200);
  expect(await get(server, noStatus.event_id as string)).toMatchObject({ status: "timeout", error_summary: NOTE, items_succeeded: 3 });
});

test("more stale runs than one op marks are all marked, a thousand per op", async () => {
  const { server, stale } = await startStale();
  await postBatches(server, Array.from({ length: 2_345 }, () => makeRun({ start_time: "2026-01-04T00:00:00Z" })));
  expect(await stale.tick()).toBe(2_345);
  const db = new Database(server.dbPath, { readonly: true });
  try {
    expect(db.query("SELECT status, count(*) AS n FROM agent_runs GROUP BY status").all()).toEqual([{ status: "timeout", n: 2_345 }]);
  } finally {
    db.close();
  }
});

test("maintenance statements find their rows through an index, never a scan of agent_runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "telemetry-plans-"));
  const path = join(dir, "t.sqlite");
  await new RunStore({ path, journalMode: "WAL", synchronous: "FULL", busyTimeoutMs: 1000 }).close();
  const db = new Database(path, { readonly: true });
  const plan = (sql: string) =>
    db.query<{ detail: string }, never[]>(`EXPLAIN QUERY PLAN ${sql}`).all(...(Array.from({ length: sql.split("?").length - 1 }, () => 1) as never[])).map((r) => r.detail);
  try {
    expect(plan(MAINTENANCE_STATEMENTS.pruneBatch)).toContain("SEARCH agent_runs USING COVERING INDEX idx_runs_created_us (created_at_us<?)");
    expect(plan(MAINTENANCE_STATEMENTS.countCreatedBefore)).toContain("SEARCH agent_runs USING COVERING INDEX idx_runs_created_us (created_at_us<?)");
    expect(plan(MAINTENANCE_STATEMENTS.markStale)).toContain("SEARCH agent_runs USING INDEX idx_runs_status_created_us (status=?)");
    for (const sql of Object.values(MAINTENANCE_STATEMENTS)) expect(plan(sql).filter((d) => /^SCAN agent_runs\b/.test(d))).toEqual([]);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

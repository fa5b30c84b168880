import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RunStore } from "../../src/store/run-store.ts";
import { openConnection } from "../../src/store/connection.ts";
import { RunWriter } from "../../src/store/run-writer.ts";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";
import { countersAndScan, fakeClock, postBatches, pragma, us, writeBurst } from "./helpers.ts";

// TELEMETRY_RETENTION_DAYS: the background job deletes runs by created_at instant, in small ops between client
// writes, keeps /metrics and /metadata exact through the delete triggers, and gives space back.
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const MINUTE_MS = 60_000;
/** `n` runs created one minute apart from `from`, by `agent`. */
function runsFrom(from: string, n: number, agent: string, job: string) {
  const start = Date.parse(from);
  return Array.from({ length: n }, () => null).map((_, i) => makeRun({ agent_name: agent, job_type: job, created_at: new Date(start + i * MINUTE_MS).toISOString() }));
}

async function eventIds(server: TestServer): Promise<Set<string>> {
  const db = new Database(server.dbPath, { readonly: true });
  try {
    return new Set(db.query<{ e: string }, []>("SELECT event_id AS e FROM agent_runs").all().map((r) => r.e));
  } finally {
    db.close();
  }
}

describe("retention job on a clock the test controls", () => {
  test("deletes exactly the runs created before now - N days, in batches, during a write burst; counters stay exact", async () => {
    const clock = fakeClock("2020-06-01T00:00:00Z"); // cutoff 2020-05-02T00:00:00Z
    server = await startTestServer({ TELEMETRY_RETENTION_DAYS: "30" }, undefined, { now: clock.now, jobTimers: false });
    const old = [...runsFrom("2020-01-01T00:00:00Z", 2_300, "old-only", "old-job"), ...runsFrom("2020-03-01T00:00:00Z", 400, "mixed", "shared-job")];
    const atCutoff = makeRun({ agent_name: "mixed", job_type: "shared-job", created_at: "2020-05-02T00:00:00Z" });
    const justBefore = makeRun({ agent_name: "mixed", job_type: "shared-job", created_at: "2020-05-01T23:59:59.999999Z" });
    // The same instant written in another zone: compared as an instant, it is just after the cutoff.
    const otherZone = makeRun({ agent_name: "mixed", job_type: "shared-job", created_at: "2020-05-01T20:00:00.000001-04:00" });
    const kept = [...runsFrom("2020-05-10T00:00:00Z", 50, "mixed", "shared-job"), atCutoff, otherZone];
    await postBatches(server, [...old, justBefore, ...kept]);

    const burst = writeBurst(server);
    await burst.until(50);
    const report = await server.app.jobs!.retention!.tick();
    await burst.stop();

    expect(report.createdBeforeUs).toBe(us("2020-05-02T00:00:00Z"));
    expect(report.deleted).toBe(old.length + 1);
    const ids = await eventIds(server);
    expect([...old, justBefore].filter((r) => ids.has(r.event_id as string))).toEqual([]);
    expect(kept.filter((r) => !ids.has(r.event_id as string))).toEqual([]);
    expect(burst.acknowledged().filter((id) => !ids.has(id))).toEqual([]);
    const { served, scanned } = await countersAndScan(server);
    expect(served).toEqual(scanned);
    expect(served.agentNames).not.toContain("old-only");
    expect(served.jobTypes).not.toContain("old-job");

    // A second tick at the same time finds nothing; later ticks keep moving the cutoff.
    expect((await server.app.jobs!.retention!.tick()).deleted).toBe(0);
    clock.set("2020-06-09T12:00:00Z"); // cutoff 2020-05-10T12:00Z: every run kept so far is older
    expect((await server.app.jobs!.retention!.tick()).deleted).toBe(kept.length);
    const after = await countersAndScan(server);
    expect(after.served).toEqual(after.scanned);
  }, 60_000);

  test("a new database gives the freed pages back to the file system (auto_vacuum=INCREMENTAL)", async () => {
    const clock = fakeClock("2020-06-01T00:00:00Z");
    server = await startTestServer({ TELEMETRY_RETENTION_DAYS: "30" }, undefined, { now: clock.now, jobTimers: false });
    await postBatches(server, runsFrom("2020-01-01T00:00:00Z", 3_000, "a", "j").map((r) => ({ ...r, error_details: "x".repeat(2_000) })));
    const pagesBefore = pragma(server.dbPath, "page_count");
    const report = await server.app.jobs!.retention!.tick();
    expect(report.deleted).toBe(3_000);
    expect(report.space).toMatchObject({ autoVacuum: "incremental", freePages: 0 });
    expect(report.space!.freedPages).toBeGreaterThan(1_000); // ~6 MB of error_details
    expect(pragma(server.dbPath, "freelist_count")).toBe(0);
    expect(pragma(server.dbPath, "page_count")).toBeLessThan(pagesBefore - 1_000);
  }, 60_000);

  test("an existing database (auto_vacuum off) keeps its free pages and reuses them for new runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telemetry-old-file-"));
    const dbPath = join(dir, "old.sqlite");
    const raw = new Database(dbPath, { create: true });
    raw.run("CREATE TABLE created_by_an_older_install (x)"); // a file that already has tables keeps auto_vacuum=NONE
    raw.close();
    const clock = fakeClock("2020-06-01T00:00:00Z");
    server = await startTestServer({ TELEMETRY_RETENTION_DAYS: "30" }, dbPath, { now: clock.now, jobTimers: false });
    expect(pragma(dbPath, "auto_vacuum")).toBe(0);
    await postBatches(server, runsFrom("2020-01-01T00:00:00Z", 2_000, "a", "j").map((r) => ({ ...r, error_details: "x".repeat(2_000) })));
    const report = await server.app.jobs!.retention!.tick();
    expect(report.deleted).toBe(2_000);
    expect(report.space).toMatchObject({ autoVacuum: "none", freedPages: 0 });
    const free = report.space!.freePages;
    expect(free).toBeGreaterThan(500);
    const pages = pragma(dbPath, "page_count");
    await postBatches(server, runsFrom("2020-05-20T00:00:00Z", 500, "b", "j").map((r) => ({ ...r, error_details: "y".repeat(2_000) })));
    expect(pragma(dbPath, "freelist_count")).toBeLessThan(free);
    expect(pragma(dbPath, "page_count")).toBe(pages); // the new runs went into the freed pages
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test("stopping the server mid-prune ends the job between ops and still closes cleanly", async () => {
    const clock = fakeClock("2020-06-01T00:00:00Z");
    const dir = mkdtempSync(join(tmpdir(), "telemetry-stop-"));
    const dbPath = join(dir, "t.sqlite");
    server = await startTestServer({ TELEMETRY_RETENTION_DAYS: "30" }, dbPath, { now: clock.now, jobTimers: false });
    await postBatches(server, runsFrom("2020-01-01T00:00:00Z", 20_000, "a", "j"));
    const tick = server.app.jobs!.retention!.tick();
    while (pragma(dbPath, "freelist_count") === 0) await Bun.sleep(1); // the first batch has been deleted
    await server.app.stop(); // waits for the tick, which stops after the op in flight
    const report = await tick;
    rmSync(server.dir, { recursive: true, force: true }); // the stopped server's own folder (its database is in `dir`)
    expect(report.deleted).toBeGreaterThan(0);
    expect(report.deleted).toBeLessThan(20_000);
    expect(report.deleted % 1_000).toBe(0); // whole ops: none was cut short
    server = await startTestServer({}, dbPath); // reopens: lock released, counters still exact
    const { served, scanned } = await countersAndScan(server);
    expect(served).toEqual(scanned);
    expect(scanned.total).toBe(20_000 - report.deleted);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});

test("a prune op in the same group commit as an insert it deletes keeps the counters exact (write-path unit)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "telemetry-fence-"));
  const path = join(dir, "t.sqlite");
  const options = { path, journalMode: "WAL", synchronous: "FULL", busyTimeoutMs: 1000 };
  const store = new RunStore(options);
  const writer = new RunWriter(openConnection(options, "writer"), path, null);
  const old = (id: string, agent: string) => ({
    event_id: id, run_id: "r", agent_name: agent, job_type: "fresh-job", start_time: "2020-01-01T00:00:00Z", start_time_us: us("2020-01-01T00:00:00Z"),
    created_at: "2020-01-01T00:00:00Z", created_at_us: us("2020-01-01T00:00:00Z"),
  });
  await writer.submit({ kind: "insert", runs: [old("committed", "known")] });
  // Submitted together: one group. The insert's counts are written before the prune op runs, so the delete
  // trigger finds them and nothing is left behind for a run that no longer exists.
  const [, pruned] = await Promise.all([
    writer.submit({ kind: "insert", runs: [old("same-group", "fresh-agent")] }),
    writer.submit({ kind: "prune", createdBeforeUs: us("2021-01-01T00:00:00Z") }),
  ]);
  expect(pruned).toEqual({ deleted: 2 });
  expect(store.metadata()).toEqual({ agentNames: [], jobTypes: [] });
  expect(store.metrics(0n)).toEqual({ total: 0, agents: [], recent: 0 });
  await writer.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

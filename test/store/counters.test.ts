import { afterEach, beforeEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RunStore, type NewRun } from "../../src/store/run-store.ts";

// The counter tables must equal what a full scan of agent_runs says, after every kind of write.
let dir: string;
let path: string;
let store: RunStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "telemetry-counters-"));
  path = join(dir, "t.sqlite");
  store = new RunStore({ path, journalMode: "WAL", synchronous: "FULL", busyTimeoutMs: 1000 });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const MINUTE = 60_000_000n;
let n = 0;
function run(agent: string, job: string, createdUs: bigint): NewRun {
  n++;
  return {
    event_id: `c-${n}`, run_id: "r", agent_name: agent, job_type: job, start_time: "2026-01-01T00:00:00Z", start_time_us: 0n,
    created_at: `us:${createdUs}`, created_at_us: createdUs,
  };
}

/** What /metrics and /metadata would say if computed by scanning agent_runs. */
function scanned(sinceUs: bigint) {
  const db = new Database(path, { readonly: true });
  try {
    const agents = db.query<{ a: string; n: number }, []>("SELECT agent_name AS a, count(*) AS n FROM agent_runs GROUP BY a ORDER BY n DESC, a").all().map((r): [string, number] => [r.a, r.n]);
    return {
      total: db.query<{ n: number }, []>("SELECT count(*) AS n FROM agent_runs").get()!.n,
      agents,
      recent: db.query<{ n: number }, [bigint]>("SELECT count(*) AS n FROM agent_runs WHERE created_at_us >= ?").get(sinceUs)!.n,
      jobTypes: db.query<{ j: string }, []>("SELECT DISTINCT job_type AS j FROM agent_runs ORDER BY j").all().map((r) => r.j),
    };
  } finally {
    db.close();
  }
}

function expectExact(sinceUs: bigint) {
  const expected = scanned(sinceUs);
  const db = new Database(path, { readonly: true });
  const byAgentStatus = db.query("SELECT agent_name, status, count(*) AS runs FROM agent_runs GROUP BY agent_name, status ORDER BY agent_name, status").all();
  db.close();
  expect(store.runsByAgentAndStatus()).toEqual(byAgentStatus as never);
  expect(store.metrics(sinceUs)).toEqual({ total: expected.total, agents: expected.agents, recent: expected.recent });
  expect(store.metadata()).toEqual({ agentNames: expected.agents.map(([a]) => a).sort(), jobTypes: expected.jobTypes });
}

test("inserts, duplicates and batches keep the counters exact, including the partial boundary minute", async () => {
  const since = 1_000n * MINUTE + 30_000_000n; // half-way through a minute
  const instants = [since - 1n, since, since + 1n, since + 29_999_999n, since + 30_000_000n, since - MINUTE, since + 5n * MINUTE, since + 10_000n * MINUTE];
  await store.write({ kind: "insert", runs: instants.map((t, i) => run(i % 2 ? "b" : "a", `job-${i % 3}`, t)) });
  expectExact(since);
  const duplicate = { ...run("a", "job-0", since), event_id: "c-1" };
  expect(await store.write({ kind: "insert", runs: [duplicate] })).toEqual(["duplicate"]);
  expectExact(since);
  for (const probe of [since - MINUTE, since - 1n, since + 1n, since + 30_000_000n, since + 10_000n * MINUTE + 1n]) expectExact(probe);
});

test("PATCH-style updates leave the counters alone; names like __proto__ and 123 are counted as data", async () => {
  await store.write({ kind: "insert", runs: [run("__proto__", "constructor", 5n * MINUTE), run("123", "job", 5n * MINUTE), run("123", "job", 6n * MINUTE)] });
  expect(await store.write({ kind: "update", eventId: `c-${n}`, fields: { duration_ms: 5 } })).toEqual({ runId: "r" });
  expectExact(0n);
  // A PATCH of the status moves the run between (agent, status) counts.
  expect(await store.write({ kind: "update", eventId: `c-${n}`, fields: { status: "success" } })).toEqual({ runId: "r" });
  expectExact(0n);
  expect(store.runsByAgentAndStatus()).toContainEqual({ agent_name: "123", status: "success", runs: 1 });
  expect(store.metrics(0n).agents).toEqual([["123", 2], ["__proto__", 1]]);
});

test("deletes and renames by another tool (sqlite3 shell, retention) keep them exact through triggers; emptied names disappear", async () => {
  await store.write({ kind: "insert", runs: [run("keep", "j1", 10n * MINUTE), run("gone", "j2", 10n * MINUTE), run("moved", "j1", 11n * MINUTE)] });
  const shell = new Database(path);
  shell.run("DELETE FROM agent_runs WHERE agent_name = 'gone'");
  shell.run("UPDATE agent_runs SET agent_name = 'renamed', job_type = 'j3', created_at_us = ? WHERE agent_name = 'moved'", [20n * MINUTE]);
  shell.close();
  expectExact(0n);
  expectExact(15n * MINUTE);
  expect(store.metadata()).toEqual({ agentNames: ["keep", "renamed"], jobTypes: ["j1", "j3"] });
});

test("rows another process inserted are counted from the next start on", async () => {
  await store.write({ kind: "insert", runs: [run("ours", "j", 10n * MINUTE)] });
  await store.close();
  const shell = new Database(path);
  shell.run("INSERT INTO agent_runs (event_id, run_id, agent_name, job_type, start_time, created_at) VALUES ('foreign', 'r', 'shell', 'manual', '2026-01-01T00:00:00Z', '2026-01-01 00:00:00')");
  shell.close();
  store = new RunStore({ path, journalMode: "WAL", synchronous: "FULL", busyTimeoutMs: 1000 });
  expectExact(0n);
  expect(store.metadata()).toEqual({ agentNames: ["ours", "shell"], jobTypes: ["j", "manual"] });
});

test("an op that fails after some inserts adds nothing to the counters", async () => {
  const bad = { ...run("never", "never", MINUTE), status: "not-a-status" }; // violates the table's CHECK
  await expect(store.write({ kind: "insert", runs: [run("never", "never", MINUTE), bad] })).rejects.toThrow();
  await store.write({ kind: "insert", runs: [run("fine", "j", MINUTE)] });
  expectExact(0n);
  expect(store.metadata().agentNames).toEqual(["fine"]);
});

test("a database migrated from counters-less versions starts with counters equal to a full scan", async () => {
  await store.write({ kind: "insert", runs: [run("a", "j", MINUTE), run("a", "j", 2n * MINUTE), run("b", "k", 3n * MINUTE)] });
  await store.close();
  const raw = new Database(path);
  raw.run("DROP TABLE run_counts_by_agent");
  raw.run("DROP TABLE run_counts_by_job_type");
  raw.run("DROP TABLE run_counts_by_minute");
  for (const { name } of raw.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'trigger'").all()) raw.run(`DROP TRIGGER ${name}`);
  raw.run("DELETE FROM schema_migrations WHERE version = 9");
  raw.close();
  store = new RunStore({ path, journalMode: "WAL", synchronous: "FULL", busyTimeoutMs: 1000 });
  expectExact(2n * MINUTE);
});

test("a PATCH of the status committed in the same group as its run's insert moves the count, not doubles it", async () => {
  const created = run("same-group", "j", MINUTE);
  // Submitted in one tick: the writer commits them as one group.
  const [inserted, updated] = await Promise.all([
    store.write({ kind: "insert", runs: [created] }),
    store.write({ kind: "update", eventId: created.event_id as string, fields: { status: "success" } }),
  ]);
  expect(inserted).toEqual(["created"]);
  expect(updated).toEqual({ runId: "r" });
  expectExact(0n);
  expect(store.runsByAgentAndStatus()).toEqual([{ agent_name: "same-group", status: "success", runs: 1 }]);
});

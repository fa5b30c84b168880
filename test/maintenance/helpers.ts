import { Database } from "bun:sqlite";
import { join } from "node:path";
import { makeRun, type TestServer } from "../support/server.ts";

export const ROOT = join(import.meta.dir, "../..");
export const MAIN = join(ROOT, "src/main.ts");

/** Epoch micros of an RFC 3339 text (test data only uses whole milliseconds). */
export const us = (text: string): bigint => BigInt(Date.parse(text)) * 1000n;

/** A clock the test moves by hand. */
export function fakeClock(start: string): { now: () => bigint; set(text: string): void } {
  let current = us(start);
  return { now: () => current, set: (text) => (current = us(text)) };
}

/** Runs the real entry point with only the given environment settings of ours; stdout, stderr and the exit code. */
export async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("TELEMETRY_") && k !== "LOG_LEVEL") clean[k] = v;
  const child = Bun.spawn([process.execPath, MAIN, ...argv], { cwd: ROOT, env: { ...clean, ...env }, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, stdout, stderr };
}

export const lines = (text: string) => text.split("\n").filter((l) => l.trim() !== "");

/**
 * Concurrent clients that POST runs and PATCH each to success until stopped. `acknowledged()` and
 * `patched()` return copies of the event_ids whose 201 / 200 has arrived so far.
 */
export function writeBurst(server: TestServer, clients = 8) {
  const created: string[] = [];
  const patched: string[] = [];
  let stopping = false;
  let failure: unknown = null;
  const loops = Array.from({ length: clients }, async (_, c) => {
    while (!stopping && failure === null) {
      const run = makeRun({ agent_name: `burst-${c % 3}`, job_type: `job-${c % 2}` });
      const posted = await server.call("POST", "/api/v1/runs", run);
      if (posted.status !== 201) throw new Error(`POST answered ${posted.status}: ${await posted.text()}`);
      created.push(run.event_id as string);
      const patch = await server.call("PATCH", `/api/v1/runs/${run.event_id}`, { status: "success", duration_ms: 5 });
      if (patch.status !== 200) throw new Error(`PATCH answered ${patch.status}: ${await patch.text()}`);
      patched.push(run.event_id as string);
    }
  }).map((loop) => loop.catch((error) => (failure ??= error)));
  return {
    acknowledged: () => [...created],
    patched: () => [...patched],
    /** Resolves once at least `n` runs are acknowledged. */
    async until(n: number) {
      while (created.length < n && failure === null) await Bun.sleep(5);
    },
    /** Stops the clients; throws the first error one of them met. */
    async stop() {
      stopping = true;
      await Promise.all(loops);
      if (failure !== null) throw failure;
    },
  };
}

/** What /metrics and /api/v1/metadata must say, computed by scanning agent_runs; and the per-minute buckets. */
export function scan(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  try {
    const agents = Object.fromEntries(
      db.query<{ a: string; n: number }, []>("SELECT agent_name AS a, count(*) AS n FROM agent_runs GROUP BY a").all().map((r) => [r.a, r.n]),
    );
    const names = (column: string) => db.query<{ v: string }, []>(`SELECT DISTINCT ${column} AS v FROM agent_runs ORDER BY v`).all().map((r) => r.v);
    const minutes = (sql: string) => db.query<{ m: number; n: number }, []>(sql).all().map((r) => [r.m, r.n]);
    return {
      total: db.query<{ n: number }, []>("SELECT count(*) AS n FROM agent_runs").get()!.n,
      agents,
      agentNames: names("agent_name"),
      jobTypes: names("job_type"),
      minutes: minutes("SELECT created_at_us / 60000000 AS m, count(*) AS n FROM agent_runs WHERE created_at_us IS NOT NULL GROUP BY m ORDER BY m"),
      minuteCounters: minutes("SELECT minute AS m, runs AS n FROM run_counts_by_minute ORDER BY m"),
    };
  } finally {
    db.close();
  }
}

/** /metrics and /metadata (sans recent_24h) next to the full scan, in one comparable shape. */
export async function countersAndScan(server: TestServer) {
  const metrics = (await (await server.call("GET", "/metrics")).json()) as { total_runs: number; agents: Record<string, number> };
  const metadata = (await (await server.call("GET", "/api/v1/metadata")).json()) as { agent_names: string[]; job_types: string[] };
  const scanned = scan(server.dbPath);
  return {
    served: { total: metrics.total_runs, agents: metrics.agents, agentNames: metadata.agent_names, jobTypes: metadata.job_types, minutes: scanned.minuteCounters },
    scanned: { total: scanned.total, agents: scanned.agents, agentNames: scanned.agentNames, jobTypes: scanned.jobTypes, minutes: scanned.minutes },
  };
}

/** Posts `runs` through the batch endpoint in chunks the server accepts. */
export async function postBatches(server: TestServer, runs: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < runs.length; i += 5_000) {
    const response = await server.call("POST", "/api/v1/runs/batch", runs.slice(i, i + 5_000));
    if (response.status !== 200) throw new Error(`batch answered ${response.status}: ${await response.text()}`);
  }
}

export function pragma(dbPath: string, name: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return Object.values(db.query<Record<string, number>, []>(`PRAGMA ${name}`).get()!)[0]!;
  } finally {
    db.close();
  }
}

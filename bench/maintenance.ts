// Retention, stale-run marking and backup on a large database, with a client writing throughout.
//   bun bench/maintenance.ts [rows=1000000]
// Loads `rows` runs through the store's batch insert (created_at spread over 400 days, 5% still running),
// then measures, each with a probe client inserting one run at a time (the latency a client would see):
// an online backup (VACUUM INTO on its own thread), marking stale runs, and pruning half the runs (a quarter
// paced as the server's retention job, a quarter unpaced as the prune command).
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { days } from "../src/domain/durations.ts";
import { formatMicrosUtc } from "../src/domain/timestamps.ts";
import { markStaleRuns, pruneRuns } from "../src/jobs.ts";
import { backupInWorker, type SpaceReport } from "../src/store/maintenance.ts";
import { RunStore, type NewRun } from "../src/store/run-store.ts";

const ROWS = Number(process.argv[2] ?? 1_000_000);
const DAY_US = 86_400_000_000n;
const NOW = BigInt(Date.now()) * 1000n;
const dir = mkdtempSync(join(tmpdir(), "telemetry-maintenance-bench-"));
const path = join(dir, "t.sqlite");
const store = new RunStore({ path, journalMode: "WAL", synchronous: "FULL", busyTimeoutMs: 5000 });

let serial = 0;
function run(createdUs: bigint, status = "success"): NewRun {
  serial++;
  const text = formatMicrosUtc(createdUs);
  return {
    event_id: `bench-${serial}`, run_id: `r-${serial}`, agent_name: `agent-${serial % 20}`, job_type: `job-${serial % 10}`, status,
    start_time: text, start_time_us: createdUs, created_at: text, created_at_us: createdUs, updated_at: text,
    items_succeeded: serial % 100, duration_ms: serial % 5000, host: "bench-host", environment: "prod",
  };
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const fileMiB = () => mib(statSync(path).size + (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0));
function percentiles(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]?.toFixed(2) ?? "-";
  return `n=${sorted.length} p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${sorted.at(-1)?.toFixed(2) ?? "-"} ms`;
}

/** Runs `work` while a client inserts one run after another; returns the work's result, its time and the client's latencies. */
async function withProbe<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; probe: number[] }> {
  const probe: number[] = [];
  let done = false;
  const client = (async () => {
    while (!done) {
      const t = performance.now();
      await store.write({ kind: "insert", runs: [run(NOW)] });
      probe.push(performance.now() - t);
      await Bun.sleep(1);
    }
  })();
  const t = performance.now();
  const result = await work();
  const seconds = (performance.now() - t) / 1000;
  done = true;
  await client;
  return { result, seconds, probe };
}

let t = performance.now();
for (let loaded = 0; loaded < ROWS; ) {
  const runs: NewRun[] = [];
  for (let i = 0; i < 5_000 && loaded < ROWS; i++, loaded++) {
    const createdUs = NOW - (400n * DAY_US * BigInt(ROWS - loaded)) / BigInt(ROWS);
    runs.push(run(createdUs, loaded % 20 === 0 ? "running" : "success"));
  }
  await store.write({ kind: "insert", runs });
}
console.log(`loaded ${ROWS} runs in ${((performance.now() - t) / 1000).toFixed(1)} s; file ${fileMiB()} MiB`);

const idle = await withProbe(() => Bun.sleep(2_000));
console.log(`client insert latency, nothing else running: ${percentiles(idle.probe)}`);

const backup = await withProbe(() => backupInWorker(path, join(dir, "backup.sqlite"), 5000, new AbortController().signal));
console.log(`backup: ${backup.result.runs} runs, ${mib(backup.result.bytes)} MiB in ${backup.seconds.toFixed(1)} s; client latency meanwhile: ${percentiles(backup.probe)}`);

const stale = await withProbe(() => markStaleRuns(store, days(1), NOW, { rest: true }));
console.log(`stale: marked ${stale.result} runs in ${stale.seconds.toFixed(2)} s (${Math.round(stale.result / stale.seconds)} runs/s); client latency meanwhile: ${percentiles(stale.probe)}`);

const opTimes: number[] = [];
const timed = {
  write: (async (op) => {
    const start = performance.now();
    const result = await store.write(op);
    opTimes.push(performance.now() - start);
    return result;
  }) as RunStore["write"],
};
// The server's retention job rests between ops; the prune command (server stopped) does not.
for (const [label, cutoffDays, rest] of [["retention job (rests between ops)", 300n, true], ["prune command (no rests)", 200n, false]] as const) {
  opTimes.length = 0;
  const before = fileMiB();
  const prune = await withProbe(() => pruneRuns(timed, NOW - cutoffDays * DAY_US, { rest }));
  const space = prune.result.space as SpaceReport;
  console.log(
    `${label}: deleted ${prune.result.deleted} runs in ${prune.seconds.toFixed(1)} s (${Math.round(prune.result.deleted / prune.seconds)} runs/s; ` +
      `${opTimes.length} ops incl. reclaim: ${percentiles(opTimes)}); gave back ${mib(space.freedPages * space.pageSize)} MiB (file ${before} -> ${fileMiB()} MiB); ` +
      `client latency meanwhile: ${percentiles(prune.probe)}`,
  );
}

await store.close();
rmSync(dir, { recursive: true, force: true });

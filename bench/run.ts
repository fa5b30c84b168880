// The benchmark: the compiled binary on a fresh database, driven by wrk (Debian's package) on 127.0.0.1,
// with a minimal Bun.serve hello-world measured in the same run as the ceiling of this machine.
// Usage: npm run bench [-- --big] [--duration 5] [--seed 1000000]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary } from "../build.ts";
import { waitForListening, type Spawned } from "../test/support/process.ts";

const ROOT = join(import.meta.dir, "..");
const WRK_DIR = join(import.meta.dir, "wrk");
const args = process.argv.slice(2);
const big = args.includes("--big");
const duration = Number(args[args.indexOf("--duration") + 1] ?? 5) || 5;
// A smaller seed makes a quick check of the scenarios; its figures are not comparable, so the README keeps the last full run.
const seedTarget = args.includes("--seed") ? Number(args[args.indexOf("--seed") + 1]) : 1_000_000;
const CONNECTIONS = 64;
const CLOCK_TICKS = 100; // USER_HZ on Linux

interface WrkSummary { requests: number; duration_us: number; p50_us: number; p99_us: number; max_us: number; connect: number; read: number; write: number; status: number; timeout: number }
interface Result {
  scenario: string; rows: number; req_per_s: number; runs_per_s: number | null; p50_ms: number; p99_ms: number; errors: number;
  server_rss_mib: number; generator_cpu_pct: number; ratio_to_hello: number | null;
}

if (!Bun.which("wrk")) {
  console.error("bench needs wrk: apt-get install -y wrk");
  process.exit(2);
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** Runs wrk once; reports its own CPU use (so we know the generator was not the bottleneck) and the server's peak RSS. */
async function wrk(url: string, script: string, env: Record<string, string>, serverPid: number) {
  const child = Bun.spawn(["wrk", "-t2", `-c${CONNECTIONS}`, `-d${duration}s`, "--timeout", "5s", "-s", join(WRK_DIR, script), url], {
    env: { ...process.env, BENCH_WRK_DIR: WRK_DIR, ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  let peakRss = 0;
  let generatorCpu = 0;
  const started = performance.now();
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssMiB(serverPid));
      generatorCpu = cpuSeconds(child.pid);
    } catch {
      // a process just exited between samples
    }
  }, 100);
  const output = await new Response(child.stdout).text();
  await child.exited;
  clearInterval(sampler);
  const wall = (performance.now() - started) / 1000;
  const line = output.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (!line) throw new Error(`wrk printed no summary:\n${output}`);
  return { summary: JSON.parse(line.slice(9)) as WrkSummary, peakRss, generatorCpuPct: (100 * generatorCpu) / wall };
}

function start(command: string[], env: Record<string, string> = {}): Spawned {
  return Bun.spawn(command, { cwd: ROOT, env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
}

/** Loads `count` runs named <prefix>-1..count through the batch endpoint (so the bench also covers ingest). */
async function seed(base: string, prefix: string, count: number, from = 1) {
  const batch = 1000;
  let next = from;
  const worker = async () => {
    while (next < from + count) {
      const first = next;
      next += batch;
      const items = Array.from({ length: Math.min(batch, from + count - first) }, (_, k) => ({
        event_id: `${prefix}-${first + k}`, run_id: "seed", agent_name: `agent-${(first + k) % 50}`, job_type: `job-${(first + k) % 20}`,
        status: (first + k) % 10 === 0 ? "failure" : "success", start_time: new Date(Date.UTC(2026, 0, 1) + (first + k) * 1000).toISOString(),
        environment: (first + k) % 3 === 0 ? "prod" : "dev",
      }));
      const response = await fetch(`${base}/api/v1/runs/batch`, { method: "POST", body: JSON.stringify(items) });
      if (response.status !== 200) throw new Error(`seed failed: ${response.status} ${await response.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 3 }, worker));
}

/** One long download (export) or heavy single request (stats), with the server's memory and its responsiveness meanwhile. */
interface Transfer {
  scenario: string; rows: number; seconds: number; rows_per_s: number; mib_per_s: number;
  server_rss_before_mib: number; server_rss_peak_mib: number; health_max_ms: number;
}
const transfers: Transfer[] = [];

/**
 * Reads `url` to the end, sampling the server's RSS every 50 ms and timing /health requests sent one after
 * another meanwhile (the longest shows how long the server thread was held). `rowsOf` gets the line count.
 */
async function transfer(scenario: string, url: string, base: string, serverPid: number, rowsOf: (lines: number) => number | Promise<number>): Promise<void> {
  const rssBefore = rssMiB(serverPid);
  let peakRss = rssBefore;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssMiB(serverPid));
    } catch {
      // the server exited between samples
    }
  }, 50);
  let done = false;
  let healthMax = 0;
  const prober = (async () => {
    while (!done) {
      const started = performance.now();
      await (await fetch(`${base}/health`)).arrayBuffer();
      healthMax = Math.max(healthMax, performance.now() - started);
      await Bun.sleep(20);
    }
  })();
  const started = performance.now();
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${scenario}: ${response.status} ${await response.text()}`);
  let bytes = 0;
  let lines = 0;
  for await (const chunk of response.body!) {
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
  }
  const seconds = (performance.now() - started) / 1000;
  done = true;
  await prober;
  clearInterval(sampler);
  const rows = await rowsOf(lines);
  const result: Transfer = {
    scenario, rows, seconds: +seconds.toFixed(2),
    rows_per_s: Math.round(rows / seconds),
    mib_per_s: +(bytes / 1048576 / seconds).toFixed(1),
    server_rss_before_mib: +rssBefore.toFixed(1),
    server_rss_peak_mib: +peakRss.toFixed(1),
    health_max_ms: +healthMax.toFixed(1),
  };
  transfers.push(result);
  console.log(JSON.stringify(result));
}

const results: Result[] = [];
function record(scenario: string, rows: number, run: Awaited<ReturnType<typeof wrk>>, runsPerRequest: number | null, hello: number | null) {
  const s = run.summary;
  const reqPerS = s.requests / (s.duration_us / 1e6);
  const result: Result = {
    scenario, rows,
    req_per_s: Math.round(reqPerS),
    runs_per_s: runsPerRequest === null ? null : Math.round(reqPerS * runsPerRequest),
    p50_ms: +(s.p50_us / 1000).toFixed(2),
    p99_ms: +(s.p99_us / 1000).toFixed(2),
    errors: s.connect + s.read + s.write + s.status + s.timeout,
    server_rss_mib: +run.peakRss.toFixed(1),
    generator_cpu_pct: Math.round(run.generatorCpuPct),
    ratio_to_hello: hello ? +(reqPerS / hello).toFixed(2) : null,
  };
  results.push(result);
  console.log(JSON.stringify(result));
}

const binary = await buildBinary(join(ROOT, "dist/local-telemetry-api"));
const dir = mkdtempSync(join(tmpdir(), "telemetry-bench-"));
try {
  const helloServer = start([process.execPath, join(import.meta.dir, "hello.ts")]);
  const helloUrl = await waitForListening(helloServer);
  const helloRun = await wrk(`${helloUrl}/`, "get.lua", {}, helloServer.pid);
  helloServer.kill();
  await helloServer.exited;
  const hello = helloRun.summary.requests / (helloRun.summary.duration_us / 1e6);
  record("hello-world Bun.serve (ceiling)", 0, helloRun, null, hello);

  // Production defaults: WAL, synchronous=FULL, one JSON log line per request (LOG_LEVEL=info).
  const api = start([binary, "--host", "127.0.0.1", "--port", "0", "--db", join(dir, "bench.sqlite")]);
  const base = await waitForListening(api);
  const pid = api.pid;

  record("POST /api/v1/runs (unique event_ids, durable)", 0, await wrk(`${base}`, "post_single.lua", { BENCH_RUN: "single" }, pid), 1, hello);
  record("POST /api/v1/runs/batch x100", 0, await wrk(`${base}`, "post_batch.lua", { BENCH_RUN: "b100", BENCH_BATCH: "100" }, pid), 100, hello);
  record("POST /api/v1/runs/batch x1000", 0, await wrk(`${base}`, "post_batch.lua", { BENCH_RUN: "b1000", BENCH_BATCH: "1000" }, pid), 1000, hello);

  const target = seedTarget;
  const current = ((await (await fetch(`${base}/metrics`)).json()) as { total_runs: number }).total_runs;
  const seedStarted = performance.now();
  await seed(base, "seed", Math.max(0, target - current));
  const seeded = ((await (await fetch(`${base}/metrics`)).json()) as { total_runs: number }).total_runs;
  console.log(JSON.stringify({ seeded_to: seeded, seed_seconds: +((performance.now() - seedStarted) / 1000).toFixed(1) }));

  const byId = { BENCH_SEED_PREFIX: "seed", BENCH_SEED_COUNT: String(Math.max(1, target - current)) };
  record("GET /api/v1/runs/{event_id}", seeded, await wrk(`${base}`, "by_id.lua", byId, pid), null, hello);
  record("PATCH /api/v1/runs/{event_id}", seeded, await wrk(`${base}`, "by_id.lua", { ...byId, BENCH_METHOD: "PATCH" }, pid), null, hello);
  record("GET /api/v1/runs?limit=100", seeded, await wrk(`${base}/api/v1/runs?limit=100`, "get.lua", {}, pid), null, hello);
  record(
    "GET /api/v1/runs filtered (agent, status, environment, start range)",
    seeded,
    await wrk(`${base}/api/v1/runs?agent_name=agent-10&status=failure&environment=prod&start_time_from=2026-01-02T00:00:00Z&limit=100`, "get.lua", {}, pid),
    null,
    hello,
  );
  record("GET /metrics", seeded, await wrk(`${base}/metrics`, "get.lua", {}, pid), null, hello);
  record("GET /api/v1/metadata", seeded, await wrk(`${base}/api/v1/metadata`, "get.lua", {}, pid), null, hello);

  // Every seeded run was created in the last minutes, so the default 7-day stats window holds all of them.
  const exported = `${base}/api/v1/runs/export`;
  await transfer("GET /api/v1/runs/export?format=ndjson (all runs)", `${exported}?format=ndjson`, base, pid, (lines) => lines);
  await transfer("GET /api/v1/runs/export?format=csv (all runs)", `${exported}?format=csv`, base, pid, (lines) => lines - 1);
  await transfer("GET /api/v1/runs/export?format=csv&environment=prod", `${exported}?format=csv&environment=prod`, base, pid, (lines) => lines - 1);
  const stats = `${base}/api/v1/stats?group_by=agent_name&bucket=hour`;
  const counted = async () => ((await (await fetch(stats)).json()) as { runs: number }).runs;
  await transfer("GET /api/v1/stats?group_by=agent_name&bucket=hour (rows: runs aggregated)", stats, base, pid, counted);

  if (big) {
    const bigTarget = 10_000_000;
    await seed(base, "big", bigTarget - seeded, 1);
    const rows = ((await (await fetch(`${base}/metrics`)).json()) as { total_runs: number }).total_runs;
    record("GET /metrics (--big)", rows, await wrk(`${base}/metrics`, "get.lua", {}, pid), null, hello);
    record("GET /api/v1/metadata (--big)", rows, await wrk(`${base}/api/v1/metadata`, "get.lua", {}, pid), null, hello);
  }
  api.kill("SIGTERM");
  await api.exited;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
mkdirSync(join(import.meta.dir, "results"), { recursive: true });
const environment = { cores: navigator.hardwareConcurrency, bun: Bun.version, connections: CONNECTIONS, duration_s: duration, generator: "wrk -t2" };
writeFileSync(join(import.meta.dir, "results", `${stamp}.json`), `${JSON.stringify({ environment: { ...environment, seed: seedTarget }, results, transfers }, null, 2)}\n`);

const table = [
  "| scenario | rows | req/s | runs/s | p50 ms | p99 ms | errors | server RSS MiB | wrk CPU % | × hello |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...results.map((r) => `| ${r.scenario} | ${r.rows} | ${r.req_per_s} | ${r.runs_per_s ?? ""} | ${r.p50_ms} | ${r.p99_ms} | ${r.errors} | ${r.server_rss_mib} | ${r.generator_cpu_pct} | ${r.ratio_to_hello ?? ""} |`),
].join("\n");
const transferTable = [
  "| long request | rows | s | rows/s | MiB/s | server RSS before → peak MiB | longest /health meanwhile ms |",
  "|---|---:|---:|---:|---:|---:|---:|",
  ...transfers.map((t) => `| ${t.scenario} | ${t.rows} | ${t.seconds} | ${t.rows_per_s} | ${t.mib_per_s} | ${t.server_rss_before_mib} → ${t.server_rss_peak_mib} | ${t.health_max_ms} |`),
].join("\n");
console.log(`\n${table}\n\n${transferTable}\n`);
if (seedTarget !== 1_000_000) process.exit(0);
const readmePath = join(import.meta.dir, "README.md");
const readme = readFileSync(readmePath, "utf8");
const marker = /<!-- results -->[\s\S]*<!-- \/results -->/;
const section = `<!-- results -->\nLatest run (${stamp}, ${environment.cores} cores, Bun ${Bun.version}, ${CONNECTIONS} connections, ${duration} s per scenario):\n\n${table}\n\n${transferTable}\n<!-- /results -->`;
writeFileSync(readmePath, marker.test(readme) ? readme.replace(marker, section) : `${readme}\n${section}\n`);

// Crash test: start the server, drive concurrent writes, kill -9 it at a random moment, restart it and check
// that every write that got a 2xx is present and intact. `bun bench/crash.ts [cycles=20] [--binary]`.
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForListening, type Spawned } from "../test/support/process.ts";

export interface CrashReport {
  cycles: number;
  acknowledgedRuns: number;
  acknowledgedPatches: number;
  lostRuns: number;
  corruptRuns: number;
  integrity: string[];
}

const ROOT = join(import.meta.dir, "..");

function startServer(command: string[], dbPath: string): Spawned {
  return Bun.spawn([...command, "--host", "127.0.0.1", "--port", "0", "--db", dbPath], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "info" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

const body = (eventId: string, cycle: number) => ({
  event_id: eventId, run_id: `crash-${cycle}`, agent_name: "crash-test", job_type: "durability", status: "running",
  start_time: "2026-01-05T18:40:27.123456+00:00", metrics_json: { cycle, id: eventId }, error_details: `payload ${eventId} ${"x".repeat(200)}`,
});

/** Runs `cycles` kill -9 cycles against one database and reports every acknowledged write that did not survive. */
export async function crashCycles(cycles: number, command: string[], random: () => number = Math.random): Promise<CrashReport> {
  const dir = mkdtempSync(join(tmpdir(), "telemetry-crash-"));
  const dbPath = join(dir, "telemetry.sqlite");
  const runs = new Map<string, number>(); // acknowledged event_id -> cycle
  const patches = new Map<string, string>(); // acknowledged event_id -> output_summary it set
  try {
    for (let cycle = 0; cycle < cycles; cycle++) {
      const child = startServer(command, dbPath);
      const base = await waitForListening(child);
      let alive = true;
      const worker = async (w: number) => {
        for (let i = 0; alive; i++) {
          const id = `c${cycle}-w${w}-${i}`;
          try {
            if (i % 5 === 4) {
              const batch = Array.from({ length: 10 }, (_, k) => body(`${id}-b${k}`, cycle));
              const response = await fetch(`${base}/api/v1/runs/batch`, { method: "POST", body: JSON.stringify(batch) });
              if (response.status === 200) for (const run of batch) runs.set(run.event_id, cycle);
            } else {
              const created = await fetch(`${base}/api/v1/runs`, { method: "POST", body: JSON.stringify(body(id, cycle)) });
              if (created.status !== 201) continue;
              runs.set(id, cycle);
              const summary = `patched ${id}`;
              const patched = await fetch(`${base}/api/v1/runs/${id}`, { method: "PATCH", body: JSON.stringify({ status: "success", output_summary: summary }) });
              if (patched.status === 200) patches.set(id, summary);
            }
          } catch {
            return; // killed mid-request: that write was never acknowledged
          }
        }
      };
      const workers = Array.from({ length: 12 }, (_, w) => worker(w));
      await Bun.sleep(150 + Math.floor(random() * 600));
      child.kill("SIGKILL");
      alive = false;
      await child.exited;
      await Promise.all(workers);
    }

    // Restart once more so recovery runs the way it would for an operator, then read the file directly.
    const child = startServer(command, dbPath);
    await waitForListening(child);
    child.kill("SIGTERM");
    await child.exited;
    const db = new Database(dbPath, { readonly: true });
    const stored = new Map(
      db
        .query<{ event_id: string; run_id: string; output_summary: string | null; metrics_json: string; error_details: string }, []>(
          "SELECT event_id, run_id, output_summary, metrics_json, error_details FROM agent_runs",
        )
        .all()
        .map((r) => [r.event_id, r]),
    );
    const integrity = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check);
    db.close();
    let lostRuns = 0;
    let corruptRuns = 0;
    for (const [id, cycle] of runs) {
      const row = stored.get(id);
      if (!row) {
        lostRuns++;
        continue;
      }
      const expected = body(id, cycle);
      const patchOk = !patches.has(id) || row.output_summary === patches.get(id);
      if (row.run_id !== expected.run_id || row.metrics_json !== JSON.stringify(expected.metrics_json) || row.error_details !== expected.error_details || !patchOk) corruptRuns++;
    }
    return { cycles, acknowledgedRuns: runs.size, acknowledgedPatches: patches.size, lostRuns, corruptRuns, integrity };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const cycles = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 20);
  const command = process.argv.includes("--binary") ? [join(ROOT, "dist/local-telemetry-api")] : [process.execPath, join(ROOT, "src/main.ts")];
  const report = await crashCycles(cycles, command);
  console.log(JSON.stringify(report));
  process.exit(report.lostRuns === 0 && report.corruptRuns === 0 && report.integrity.join() === "ok" ? 0 : 1);
}

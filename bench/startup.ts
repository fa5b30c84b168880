// Measures the compiled binary: file size, time from exec to the first healthy /health, and idle RSS.
// Usage: npm run build && bun bench/startup.ts [runs=5]
import { mkdtempSync, rmSync, statSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const binary = join(import.meta.dir, "../dist/local-telemetry-api");
const runs = Number(process.argv[2] ?? 5);
const port = 18_900;

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

const startups: number[] = [];
const rss: number[] = [];
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), "telemetry-startup-"));
  const started = performance.now();
  const child = Bun.spawn([binary, "--host", "127.0.0.1", "--port", String(port + i), "--db", join(dir, "t.sqlite")], {
    env: { LOG_LEVEL: "error" },
    stdout: "ignore",
    stderr: "inherit",
  });
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port + i}/health`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    await Bun.sleep(1);
  }
  startups.push(performance.now() - started);
  await Bun.sleep(2000);
  rss.push(rssMiB(child.pid));
  child.kill("SIGTERM");
  await child.exited;
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  JSON.stringify({
    binary_mib: +(statSync(binary).size / 2 ** 20).toFixed(1),
    runs,
    exec_to_healthy_ms_median: +median(startups).toFixed(1),
    exec_to_healthy_ms_all: startups.map((x) => +x.toFixed(1)),
    idle_rss_mib_median: +median(rss).toFixed(1),
  }),
);

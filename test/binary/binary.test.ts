import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary } from "../../build.ts";
import { waitForListening, type Spawned } from "../support/process.ts";

// The compiled executable, copied alone into an empty folder: nothing beside it, cwd elsewhere.
let dir: string;
let binary: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "telemetry-binary-"));
  const built = await buildBinary(join(dir, "build", "local-telemetry-api"));
  binary = join(dir, "local-telemetry-api");
  copyFileSync(built, binary);
  rmSync(join(dir, "build"), { recursive: true });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(dbPath: string, extraEnv: Record<string, string> = {}): Spawned {
  return Bun.spawn([binary, "--host", "127.0.0.1", "--port", "0", "--db", dbPath], {
    cwd: tmpdir(),
    env: { PATH: "/usr/bin:/bin", LOG_LEVEL: "info", ...extraEnv },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

async function run(args: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn([binary, ...args], { cwd: tmpdir(), env: { PATH: "/usr/bin:/bin", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

describe("the compiled binary", () => {
  test("serves the API, /openapi.json and the docs assets from itself", async () => {
    const dbPath = join(dir, "serve", "telemetry.sqlite");
    const child = start(dbPath);
    try {
      const base = await waitForListening(child);
      const health = await (await fetch(`${base}/health`)).json();
      expect(health).toMatchObject({ status: "ok", version: "2.1.0", db_path: dbPath, journal_mode: "WAL", synchronous: "FULL" });
      const created = await fetch(`${base}/api/v1/runs`, {
        method: "POST",
        body: JSON.stringify({ event_id: "bin-1", run_id: "r", agent_name: "a", job_type: "j", start_time: "2026-01-05T18:40:27Z" }),
      });
      expect(created.status).toBe(201);
      expect((await fetch(`${base}/openapi.json`)).status).toBe(200);
      const bundle = await fetch(`${base}/docs/scalar.js`);
      expect(bundle.status).toBe(200);
      expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(1_000_000);
      expect(await (await fetch(`${base}/docs`)).text()).toContain("/docs/scalar.js");
      expect((await run(["healthcheck", "--url", `${base}/health`])).code).toBe(0);
    } finally {
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    }
  }, 60_000);

  test("--help lists every setting with its default; --version prints the version", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    for (const name of ["--host", "--port", "--db", "healthcheck", "TELEMETRY_DB_PATH", "TELEMETRY_API_AUTH_TOKEN", "TELEMETRY_RATE_LIMIT_RPM", "LOG_LEVEL", "8765"]) {
      expect(help.stdout).toContain(name);
    }
    expect((await run(["--version"])).stdout.trim()).toBe("2.1.0");
  });

  test("healthcheck exits 1 when nothing answers; bad configuration exits 2 with one line", async () => {
    expect((await run(["healthcheck", "--url", "http://127.0.0.1:9/health"])).code).toBe(1);
    const bad = await run(["--port", "nope"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("TELEMETRY_API_PORT");
    expect(bad.stderr).not.toContain("    at ");
  });

  test("a second instance on the same database exits with one line naming the file and the holder", async () => {
    const dbPath = join(dir, "locked", "telemetry.sqlite");
    const first = start(dbPath);
    try {
      await waitForListening(first);
      const second = await run(["--port", "0", "--db", dbPath]);
      expect(second.code).toBe(1);
      const lines = second.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(dbPath);
      expect(lines[0]).toContain(`pid ${first.pid}`);
    } finally {
      first.kill("SIGTERM");
      await first.exited;
    }
    // Released on exit: the next start succeeds.
    const third = start(dbPath);
    await waitForListening(third);
    third.kill("SIGTERM");
    expect(await third.exited).toBe(0);
  }, 60_000);

  test("a second server on a port already in use exits 1 instead of sharing it", async () => {
    const first = start(join(dir, "port-a", "telemetry.sqlite"));
    try {
      const port = new URL(await waitForListening(first)).port;
      const second = await run(["--host", "127.0.0.1", "--port", port, "--db", join(dir, "port-b", "telemetry.sqlite")]);
      expect(second.code).toBe(1);
      expect(second.stderr.trim().split("\n")).toHaveLength(1);
      expect(second.stderr).toContain("cannot start");
    } finally {
      first.kill("SIGTERM");
      await first.exited;
    }
  }, 60_000);

  test("SIGTERM while a client stalls mid-body still commits, checkpoints and exits 0", async () => {
    const dbPath = join(dir, "stalled", "telemetry.sqlite");
    const child = start(dbPath);
    const base = await waitForListening(child);
    const created = await fetch(`${base}/api/v1/runs`, {
      method: "POST",
      body: JSON.stringify({ event_id: "before-stall", run_id: "r", agent_name: "a", job_type: "j", start_time: "2026-01-05T18:40:27Z" }),
    });
    expect(created.status).toBe(201);
    const { port } = new URL(base);
    const socket = await Bun.connect({ hostname: "127.0.0.1", port: Number(port), socket: { data() {} } });
    socket.write("POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"ev");
    await Bun.sleep(100);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    socket.end();
    expect(existsSync(`${dbPath}-wal`) ? readFileSync(`${dbPath}-wal`).length : 0).toBe(0);
    const db = new Database(dbPath, { readonly: true });
    expect(db.query("SELECT event_id FROM agent_runs").all()).toEqual([{ event_id: "before-stall" }]);
    db.close();
  }, 60_000);

  test("the lock is released after a crash (kill -9)", async () => {
    const dbPath = join(dir, "crashed", "telemetry.sqlite");
    const first = start(dbPath);
    await waitForListening(first);
    first.kill("SIGKILL");
    await first.exited;
    const next = start(dbPath);
    await waitForListening(next);
    next.kill("SIGTERM");
    expect(await next.exited).toBe(0);
  }, 60_000);

  test("SIGTERM during a burst of writes: exit 0, every acknowledged run is in the database, WAL folded back", async () => {
    const dbPath = join(dir, "burst", "telemetry.sqlite");
    const child = start(dbPath);
    const base = await waitForListening(child);
    const acknowledged: string[] = [];
    let sent = 0;
    const worker = async (w: number) => {
      for (let i = 0; i < 200; i++) {
        const eventId = `burst-${w}-${i}`;
        sent++;
        try {
          const response = await fetch(`${base}/api/v1/runs`, {
            method: "POST",
            body: JSON.stringify({ event_id: eventId, run_id: "r", agent_name: "burst", job_type: "j", start_time: "2026-01-05T18:40:27Z" }),
          });
          if (response.status === 201) acknowledged.push(eventId);
        } catch {
          return; // the server has stopped accepting
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    while (acknowledged.length < 300) await Bun.sleep(5);
    child.kill("SIGTERM");
    await Promise.all(workers);
    expect(await child.exited).toBe(0);
    expect(sent).toBeGreaterThan(acknowledged.length - 1);

    expect(existsSync(`${dbPath}-wal`) ? readFileSync(`${dbPath}-wal`).length : 0).toBe(0);
    const db = new Database(dbPath, { readonly: true });
    const stored = new Set(db.query<{ event_id: string }, []>("SELECT event_id FROM agent_runs").all().map((r) => r.event_id));
    db.close();
    const lost = acknowledged.filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";

// Real faults on a real file system: a small tmpfs that fills up and can be remounted read-only.
// Mounting needs root (as in CI); without it these tests say so loudly and skip.
// The removed-file case also covers removal right after start-up, before the writer thread has opened the file.
const mountPoint = mkdtempSync(join(tmpdir(), "telemetry-tmpfs-"));
const mount = (options: string) => Bun.spawnSync(["mount", "-t", "tmpfs", "-o", options, "tmpfs", mountPoint]);
// (A live remount to read-only is refused while the database is open, so that fault is not simulated here.)
const remount = (options: string) => Bun.spawnSync(["mount", "-o", `remount,${options}`, mountPoint]).exitCode === 0;
const canMount = process.platform === "linux" && mount("size=4m").exitCode === 0;
if (!canMount) console.warn(`\n!!! cannot mount a tmpfs here (needs root): the disk-full and read-only fault tests are SKIPPED.\n`);

let server: TestServer;
let dbPath: string;
beforeAll(async () => {
  if (!canMount) return;
  mkdirSync(join(mountPoint, "db"));
  dbPath = join(mountPoint, "db", "telemetry.sqlite");
  server = await startTestServer({}, dbPath);
});
afterAll(async () => {
  if (!canMount) return;
  await server?.close().catch(() => {});
  Bun.spawnSync(["umount", "-l", mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

async function health(): Promise<{ status: string; detail?: string }> {
  return (await server.call("GET", "/health")).json() as Promise<{ status: string; detail?: string }>;
}

describe.skipIf(!canMount)("storage faults", () => {
  const acknowledged: string[] = [];

  test("disk full: writes get a 503 with a clear detail, nothing partial is stored, /health is degraded, reads still work", async () => {
    const big = "x".repeat(60_000);
    let full: Response | undefined;
    for (let i = 0; i < 400 && !full; i++) {
      const run = makeRun({ agent_name: "filler", error_details: big });
      const response = await server.call("POST", "/api/v1/runs", run);
      if (response.status === 201) acknowledged.push(run.event_id as string);
      else full = response;
    }
    expect(full?.status).toBe(503);
    const body = (await full!.json()) as { detail: string };
    expect(body.detail).toContain("disk full");
    expect(full!.headers.get("retry-after")).toBe("1");
    const batch = await server.call("POST", "/api/v1/runs/batch", Array.from({ length: 20 }, () => makeRun({ agent_name: "batch-when-full", error_details: big })));
    expect(batch.status).toBe(503);
    expect((await health()).status).toBe("degraded");
    expect((await health()).detail).toContain("disk full");
    const listed = await server.call("GET", "/api/v1/runs?agent_name=batch-when-full");
    expect(await listed.json()).toEqual([]);
    expect((await server.call("GET", `/api/v1/runs/${acknowledged[0]}`)).status).toBe(200);
  }, 60_000);

  test("when space comes back the server recovers by itself", async () => {
    expect(remount("size=64m")).toBe(true);
    const run = makeRun({ agent_name: "after-recovery" });
    expect((await server.call("POST", "/api/v1/runs", run)).status).toBe(201);
    expect((await health()).status).toBe("ok");
  });

  test("every acknowledged run survived the faults intact, and the database passes integrity_check", async () => {
    for (const id of acknowledged) expect((await server.call("GET", `/api/v1/runs/${id}`)).status).toBe(200);
    await server.app.stop();
    const db = new Database(dbPath, { readonly: true });
    expect(db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
    expect(db.query<{ n: number }, []>("SELECT count(*) AS n FROM agent_runs WHERE agent_name = 'filler'").get()!.n).toBe(acknowledged.length);
    db.close();
    server = await startTestServer({}, dbPath);
  });

  test("database file removed under a running server: writes are refused (503), never acknowledged into a deleted file", async () => {
    unlinkSync(dbPath); // right after the restart above: the writer thread may not have opened it yet
    const response = await server.call("POST", "/api/v1/runs", makeRun());
    expect(response.status).toBe(503);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/removed or replaced|missing/);
    expect((await health()).status).toBe("degraded");
  });
});

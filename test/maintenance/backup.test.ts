import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../support/server.ts";
import { cli, fakeClock, lines, pragma, writeBurst } from "./helpers.ts";

// Online backup: `local-telemetry-api backup OUT` while the server keeps writing, and the scheduled backups.
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The copy's event_ids, statuses, integrity and auto_vacuum setting. */
function readCopy(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    return {
      integrity: db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check),
      statuses: new Map(db.query<{ e: string; s: string }, []>("SELECT event_id AS e, status AS s FROM agent_runs").all().map((r) => [r.e, r.s])),
      autoVacuum: db.query<{ auto_vacuum: number }, []>("PRAGMA auto_vacuum").get()!.auto_vacuum,
    };
  } finally {
    db.close();
  }
}

describe("backup command", () => {
  test("taken during a write burst: every run and PATCH acknowledged before it started is in the copy, integrity ok", async () => {
    server = await startTestServer();
    const burst = writeBurst(server);
    await burst.until(300);
    const ackedBefore = burst.acknowledged();
    const patchedBefore = burst.patched();
    const out = join(server.dir, "copies", "during-burst.sqlite");
    const result = await cli(["backup", out, "--db", server.dbPath]); // no lock taken: the server holds it
    const ackedAfter = burst.acknowledged().length;
    await burst.stop();

    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    const match = /^backup written: (.+) \((\d+) runs, integrity ok\)$/.exec(result.stdout.trim());
    expect(match?.[1]).toBe(out);
    const copy = readCopy(out);
    expect(copy.integrity).toEqual(["ok"]);
    expect(Number(match![2])).toBe(copy.statuses.size);
    expect(ackedBefore.filter((id) => !copy.statuses.has(id))).toEqual([]);
    expect(patchedBefore.filter((id) => copy.statuses.get(id) !== "success")).toEqual([]);
    // The writes went on while the copy was made; the copy is one snapshot between the two counts.
    expect(copy.statuses.size).toBeGreaterThanOrEqual(ackedBefore.length);
    expect(copy.statuses.size).toBeLessThanOrEqual(ackedAfter + 8);
    expect(ackedAfter).toBeGreaterThan(ackedBefore.length); // the server kept acknowledging writes meanwhile
    expect(copy.autoVacuum).toBe(2); // INCREMENTAL: a database restored from it gives space back
    expect(readdirSync(join(server.dir, "copies"))).toEqual(["during-burst.sqlite"]); // no partial file left
  }, 30_000);

  test("refuses to overwrite an existing file (exit 2, one line) and leaves it untouched", async () => {
    server = await startTestServer();
    const out = join(server.dir, "taken.sqlite");
    writeFileSync(out, "precious");
    const result = await cli(["backup", out, "--db", server.dbPath]);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([expect.stringContaining(`${out} already exists`)]);
    expect(await Bun.file(out).text()).toBe("precious");
  }, 20_000);

  test("usage errors and a missing database: exit 2 with one line, nothing written", async () => {
    server = await startTestServer();
    const out = join(server.dir, "x.sqlite");
    const cases: [string[], string][] = [
      [["backup"], "exactly one output file"],
      [["backup", out, "other.sqlite", "--db", server.dbPath], "exactly one output file"],
      [["backup", out, "--db"], "--db needs a value"],
      [["backup", out, "--force", "--db", server.dbPath], "unknown argument '--force'"],
      [["backup", out, "--db", join(server.dir, "nope.sqlite")], "no database at"],
      [["backup", server.dbPath, "--db", server.dbPath], "must not be the database itself"],
    ];
    for (const [argv, message] of cases) {
      const result = await cli(argv);
      expect({ argv, code: result.code, stderr: lines(result.stderr) }).toEqual({ argv, code: 2, stderr: [expect.stringContaining(message)] });
    }
    expect(existsSync(out)).toBe(false);
  }, 30_000);

  test("reads TELEMETRY_DB_PATH when --db is not given, and works on a stopped server's database", async () => {
    server = await startTestServer();
    expect((await server.call("POST", "/api/v1/runs", { event_id: "b-1", run_id: "r", agent_name: "a", job_type: "j", start_time: "2026-01-01T00:00:00Z" })).status).toBe(201);
    await server.app.stop();
    const out = join(server.dir, "stopped.sqlite");
    const result = await cli(["backup", out], { TELEMETRY_DB_PATH: server.dbPath });
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: `backup written: ${out} (1 runs, integrity ok)\n` });
    rmSync(server.dir, { recursive: true, force: true });
    server = undefined;
  }, 20_000);
});

describe("scheduled backups (TELEMETRY_BACKUP_DIR) on a clock the test controls", () => {
  test("one when due, none before the interval, the newest TELEMETRY_BACKUP_KEEP kept; taken during a write burst", async () => {
    const clock = fakeClock("2026-02-01T00:00:00Z");
    const dir = join(mkdtempSync(join(tmpdir(), "telemetry-backups-")), "backups");
    server = await startTestServer(
      { TELEMETRY_BACKUP_DIR: dir, TELEMETRY_BACKUP_INTERVAL_HOURS: "24", TELEMETRY_BACKUP_KEEP: "2" },
      undefined,
      { now: clock.now, jobTimers: false },
    );
    const backup = server.app.jobs!.backup!;
    const burst = writeBurst(server);
    await burst.until(200);
    const ackedBefore = burst.acknowledged();
    const first = await backup.tick();
    await burst.stop();

    expect(first.written?.path).toBe(join(dir, "telemetry-20260201T000000Z.sqlite"));
    const copy = readCopy(first.written!.path);
    expect(copy.integrity).toEqual(["ok"]);
    expect(first.written!.runs).toBe(copy.statuses.size);
    expect(ackedBefore.filter((id) => !copy.statuses.has(id))).toEqual([]);

    clock.set("2026-02-01T23:59:59Z");
    expect(await backup.tick()).toEqual({ written: null, removed: [] }); // not due yet
    clock.set("2026-02-02T00:00:00Z");
    expect((await backup.tick()).written?.path).toBe(join(dir, "telemetry-20260202T000000Z.sqlite"));
    clock.set("2026-02-03T06:30:00Z");
    const third = await backup.tick();
    expect(third.written?.path).toBe(join(dir, "telemetry-20260203T063000Z.sqlite"));
    expect(third.removed).toEqual([join(dir, "telemetry-20260201T000000Z.sqlite")]);
    writeFileSync(join(dir, "notes.txt"), "someone else's file");
    const exited = Bun.spawn(["true"]);
    await exited.exited; // a pid that is surely gone: its copy was cut short by a crash
    writeFileSync(join(dir, `telemetry-20260203T063000Z.sqlite.partial-${exited.pid}`), "left by a crash");
    // A `backup` command still copying (here pid 1, which is always alive) must not lose its file.
    writeFileSync(join(dir, "telemetry-manual.sqlite.partial-1"), "being written right now");
    clock.set("2026-02-04T06:30:00Z");
    await backup.tick();
    // Only our own backups rotate; another file in the folder is never touched; a crash's partial copy is cleared.
    expect(readdirSync(dir).sort()).toEqual([
      "notes.txt",
      "telemetry-20260203T063000Z.sqlite",
      "telemetry-20260204T063000Z.sqlite",
      "telemetry-manual.sqlite.partial-1",
    ]);
    rmSync(join(dir, ".."), { recursive: true, force: true });
  }, 30_000);

  test("an unusable TELEMETRY_BACKUP_DIR stops the start-up instead of failing every backup later", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telemetry-blocker-"));
    const blocker = join(dir, "a-file");
    writeFileSync(blocker, "a file, not a folder");
    const dbPath = join(dir, "t.sqlite");
    await expect(startTestServer({ TELEMETRY_BACKUP_DIR: join(blocker, "sub") }, dbPath)).rejects.toThrow("ENOTDIR");
    // Nothing was left holding the database: it opens again at once.
    server = await startTestServer({}, dbPath);
    expect((await server.call("GET", "/health")).status).toBe(200);
    await server.close();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
});

test("a new database gives space back (auto_vacuum=INCREMENTAL); the setting belongs to the file", async () => {
  server = await startTestServer();
  expect(pragma(server.dbPath, "auto_vacuum")).toBe(2);
});

/**
 * Databases written by the reference service (schema v6 / v7, journal mode DELETE) must open and migrate in
 * place with no row lost or changed (behaviours.md, "Storage and durability"), and every filter and ordering
 * must then compare instants, reading zone-less legacy `created_at` values as UTC ("Timestamps").
 *
 * The fixtures are read-only and shared: each test run copies them into a temp folder first. Expected
 * results are computed here from a snapshot taken with bun:sqlite before the server ever opens the copy,
 * with Date.parse on normalised strings, never with code from src/ (except the direct migrate() checks at
 * the end, which test that function itself).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { migrate, SCHEMA_VERSION } from "../../src/store/migrations.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

// In CI the shared folder sits beside the repo: <root>/../shared, i.e. three levels up from test/store/.
const FIXTURES = resolve(import.meta.dir, "../../../shared/fixtures");
const FIXTURE_NAMES = ["reference-v6.sqlite", "reference-v7.sqlite", "reference-v6-without-commit-columns.sqlite"] as const;
const NEW_COLUMNS = ["git_commit_source", "git_commit_author", "git_commit_timestamp", "created_at_us", "start_time_us"];
const COMMIT_COLUMNS = ["git_commit_source", "git_commit_author", "git_commit_timestamp"];

type Row = Record<string, string | number | null>;
type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------
// Timestamps, computed independently of src/: Date.parse on a normalised string for the whole seconds,
// the fraction added exactly, so comparisons are at microsecond precision as the contract demands.
// ---------------------------------------------------------------------------------------------------------

const TS = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

/** Epoch microseconds of a stored or filter timestamp; a zone-less date-time or a bare date is UTC. */
function instantUs(text: string): bigint {
  const m = TS.exec(text);
  if (!m) throw new Error(`test helper cannot read timestamp ${JSON.stringify(text)}`);
  const [, y, mo, d, h = "00", mi = "00", s = "00", fraction = "", zone = "Z"] = m;
  const offset = /^[Zz]$/.test(zone) ? "Z" : zone.includes(":") ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`);
  if (Number.isNaN(ms)) throw new Error(`Date.parse rejected normalised ${JSON.stringify(text)}`);
  return BigInt(ms) * 1000n + BigInt((fraction + "000000").slice(0, 6));
}

/** The instant `ms` written in the given offset (minutes east of UTC), e.g. 2026-12-03T07:38:53-08:00. */
function atOffset(ms: number, offsetMinutes: number): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

const newestFirst = (a: { at: bigint; id: number }, b: { at: bigint; id: number }) => (a.at === b.at ? b.id - a.id : a.at > b.at ? -1 : 1);

/** event_ids of `rows` in the contract's list order: newest created_at instant first, ties by insertion (id) newest first. */
function expectedOrder(rows: readonly Row[]): string[] {
  return rows
    .map((r) => ({ at: instantUs(String(r.created_at)), id: Number(r.id), eventId: String(r.event_id) }))
    .sort(newestFirst)
    .map((r) => r.eventId);
}

// ---------------------------------------------------------------------------------------------------------
// Snapshots taken straight from the file with bun:sqlite.
// ---------------------------------------------------------------------------------------------------------

interface Snapshot {
  /** agent_runs columns in table order. */
  columns: string[];
  tableInfo: Json[];
  /** SELECT * ORDER BY id. */
  rows: Row[];
  /** Per row, per column: "<typeof>:<hex of the stored bytes>", the byte-for-byte view. */
  bytes: Record<string, string>[];
  migrations: Json[];
  schemaObjects: string[];
  journalMode: string;
}

function withDb<T>(path: string, readonly: boolean, fn: (db: Database) => T): T {
  const db = readonly ? new Database(path, { readonly: true }) : new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function takeSnapshot(path: string, readonly: boolean): Snapshot {
  return withDb(path, readonly, (db) => {
    const tableInfo = db.query<Json, []>("SELECT * FROM pragma_table_info('agent_runs')").all();
    const columns = tableInfo.map((c) => String(c.name));
    const bytesSql = `SELECT ${columns.map((c, i) => `typeof("${c}") || ':' || coalesce(hex("${c}"), '') AS c${i}`).join(", ")} FROM agent_runs ORDER BY id`;
    const bytes = db
      .query<Record<string, string>, []>(bytesSql)
      .all()
      .map((r) => Object.fromEntries(columns.map((c, i) => [c, r[`c${i}`]!])));
    return {
      columns,
      tableInfo,
      rows: db.query<Row, []>("SELECT * FROM agent_runs ORDER BY id").all(),
      bytes,
      migrations: db.query<Json, []>("SELECT * FROM schema_migrations ORDER BY version").all(),
      schemaObjects: db
        .query<{ type: string; name: string }, []>("SELECT type, name FROM sqlite_master ORDER BY type, name")
        .all()
        .map((o) => `${o.type}:${o.name}`),
      journalMode: db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()!.journal_mode,
    };
  });
}

/** Differences between two byte views, restricted to `columns` and to rows whose id is not in `except`. */
function byteDiffs(before: Snapshot, after: Snapshot, columns: readonly string[], except: ReadonlySet<number> = new Set()): string[] {
  const diffs: string[] = [];
  // bytes[i] and rows[i] are the same row (both ORDER BY id); the byte view's id is its typeof:hex form.
  const afterById = new Map(after.bytes.map((r) => [r.id, r]));
  before.bytes.forEach((row, i) => {
    const id = Number(before.rows[i]!.id);
    if (except.has(id)) return;
    const now = afterById.get(row.id!);
    if (!now) {
      diffs.push(`row ${id} is gone`);
      return;
    }
    for (const c of columns) if (row[c] !== now[c]) diffs.push(`row ${id} ${c}: ${row[c]} -> ${now[c]}`);
  });
  return diffs;
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

async function getJson(server: TestServer, path: string): Promise<{ status: number; body: any }> {
  const response = await server.call("GET", path);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Filters as a client would send them; values deliberately mix zones, forms and exact boundaries. */
interface FilterCase {
  name: string;
  params: Record<string, string>;
}
const FILTER_CASES: FilterCase[] = [
  { name: "created_after in Z", params: { created_after: "2025-12-21T00:00:00Z" } },
  { name: "created_after equal to a row's instant written in -08:00 is exclusive", params: { created_after: "2025-12-20T04:19:00-08:00" } },
  { name: "created_after zone-less, read as UTC, equal to a row's instant", params: { created_after: "2025-12-21 04:21:00" } },
  { name: "created_after bare date, read as midnight UTC", params: { created_after: "2025-12-21" } },
  { name: "created_after equal to the zone-less legacy created_at instant is exclusive", params: { created_after: "2026-12-03T15:38:52Z" } },
  { name: "created_after one second before the legacy instant, written in -05:00", params: { created_after: "2026-12-03T10:38:51-05:00" } },
  { name: "created_before in +00:00 is exclusive", params: { created_before: "2025-12-20T14:47:00+00:00" } },
  { name: "created_before equal to the legacy instant excludes the zone-less rows", params: { created_before: "2026-12-03T15:38:52+00:00" } },
  { name: "created_before one second after the legacy instant, written in +05:00", params: { created_before: "2026-12-03T20:38:53+05:00" } },
  { name: "created_before in +05:00", params: { created_before: "2025-12-20T15:00:00+05:00" } },
  { name: "created_after and created_before window", params: { created_after: "2025-12-20T10:00:00-08:00", created_before: "2025-12-21T05:00:00+05:00" } },
  { name: "start_time_from equal to a +05:00 row's instant is inclusive (text order would differ)", params: { start_time_from: "2025-12-20T16:05:00+05:00" } },
  { name: "start_time_from in Z", params: { start_time_from: "2025-12-21T00:00:00Z" } },
  { name: "start_time_from one microsecond after a row's instant excludes it", params: { start_time_from: "2025-12-20T12:19:00.000001Z" } },
  { name: "start_time_to equal to a -08:00 row's instant is inclusive", params: { start_time_to: "2025-12-20T04:19:00-08:00" } },
  { name: "start_time_to the same instant written in Z", params: { start_time_to: "2025-12-20T12:19:00Z" } },
  { name: "start_time_to one microsecond before a row's instant excludes it", params: { start_time_to: "2025-12-20T12:18:59.999999+00:00" } },
  { name: "start_time window with ±HHMM offset and zone-less bound", params: { start_time_from: "2025-12-20 20:00:00", start_time_to: "2025-12-21T08:00:00+0500" } },
  { name: "start_time_from with lower-case t and z", params: { start_time_from: "2025-12-21t06:00:00z" } },
  { name: "agent_name and start_time_to and created_after together", params: { agent_name: "hugo-translator", start_time_to: "2025-12-21T12:00:00+05:00", created_after: "2025-12-20T09:00:00Z" } },
];

function expectedForFilter(rows: readonly Row[], params: Record<string, string>): string[] {
  const bound = (name: string) => (params[name] === undefined ? undefined : instantUs(params[name]!));
  const after = bound("created_after");
  const before = bound("created_before");
  const from = bound("start_time_from");
  const to = bound("start_time_to");
  return expectedOrder(
    rows.filter((r) => {
      const created = instantUs(String(r.created_at));
      const start = instantUs(String(r.start_time));
      if (params.agent_name !== undefined && r.agent_name !== params.agent_name) return false;
      if (after !== undefined && !(created > after)) return false;
      if (before !== undefined && !(created < before)) return false;
      if (from !== undefined && !(start >= from)) return false;
      if (to !== undefined && !(start <= to)) return false;
      return true;
    }),
  );
}

test("the shared fixtures folder resolves from test/store/", () => {
  for (const name of FIXTURE_NAMES) expect(existsSync(join(FIXTURES, name))).toBe(true);
});

for (const fixture of FIXTURE_NAMES) {
  describe(`migrating ${fixture}`, () => {
    const fixturePath = join(FIXTURES, fixture);
    let fixtureHash: string;
    let dir: string;
    let dbPath: string;
    /** A second, untouched copy: the snapshot SQL counts are taken from. */
    let snapshotPath: string;
    let before: Snapshot;
    let server: TestServer | undefined;
    let afterMigration: Snapshot;
    /** ids of old rows this suite writes to on purpose. */
    const touched = new Set<number>();
    const newEventIds: string[] = [];

    const live = () => {
      if (!server) throw new Error("server not running");
      return server;
    };

    beforeAll(async () => {
      fixtureHash = sha256(fixturePath);
      dir = mkdtempSync(join(tmpdir(), "telemetry-fixture-"));
      dbPath = join(dir, fixture);
      copyFileSync(fixturePath, dbPath);
      chmodSync(dbPath, 0o644); // the original is read-only; the copy must be writable
      snapshotPath = join(dir, `snapshot-${fixture}`);
      copyFileSync(fixturePath, snapshotPath);
      before = takeSnapshot(dbPath, true);
      server = await startTestServer({}, dbPath);
      afterMigration = takeSnapshot(dbPath, false);
    });

    afterAll(async () => {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test("the fixture is what behaviours.md describes (60 rows, DELETE journal, legacy data)", () => {
      expect(before.rows.length).toBe(60);
      expect(before.journalMode.toUpperCase()).toBe("DELETE");
      expect(before.rows.filter((r) => typeof r.metrics_json === "string" && !isJsonText(r.metrics_json)).map((r) => r.metrics_json)).toEqual(["not json{"]);
      expect(before.rows.some((r) => /[+-]\d{2}:\d{2}$/.test(String(r.start_time)) && !String(r.start_time).endsWith("+00:00"))).toBe(true);
      const hasCommitColumns = COMMIT_COLUMNS.every((c) => before.columns.includes(c));
      expect(hasCommitColumns).toBe(!fixture.includes("without-commit-columns"));
      expect(before.columns).not.toContain("created_at_us");
      if (fixture === "reference-v6.sqlite") {
        expect(before.rows.filter((r) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(String(r.created_at))).length).toBeGreaterThan(0);
      }
    });

    test("schema_migrations records versions 8 and up and keeps the reference's rows unchanged", () => {
      const versions = afterMigration.migrations.map((m) => Number(m.version));
      expect(versions).toContain(8);
      expect(Math.max(...versions)).toBe(SCHEMA_VERSION);
      for (const old of before.migrations) expect(afterMigration.migrations).toContainEqual(old);
      expect(new Set(versions).size).toBe(versions.length);
    });

    test("agent_runs gains the new columns and keeps every original column's declaration", () => {
      for (const c of NEW_COLUMNS) expect(afterMigration.columns).toContain(c);
      for (const info of before.tableInfo) {
        const now = afterMigration.tableInfo.find((c) => c.name === info.name);
        expect(now ?? { name: info.name, missing: true }).toEqual(info);
      }
    });

    test("no table or index of the reference is dropped or renamed", () => {
      for (const object of before.schemaObjects) expect(afterMigration.schemaObjects).toContain(object);
    });

    test("every original column of every row is byte-for-byte unchanged", () => {
      expect(afterMigration.bytes.length).toBe(before.bytes.length);
      expect(byteDiffs(before, afterMigration, before.columns)).toEqual([]);
      // The same through bun:sqlite's values, as the brief's snapshot was taken.
      const project = (rows: Row[]) => rows.map((r) => Object.fromEntries(before.columns.map((c) => [c, r[c]])));
      expect(project(afterMigration.rows)).toEqual(project(before.rows));
    });

    test("the commit columns added to old rows are empty", () => {
      if (fixture.includes("without-commit-columns")) {
        for (const r of afterMigration.rows) for (const c of COMMIT_COLUMNS) expect(r[c]).toBeNull();
      }
    });

    test("row count is unchanged", () => {
      const count = withDb(dbPath, false, (db) => db.query<{ n: number }, []>("SELECT count(*) AS n FROM agent_runs").get()!.n);
      expect(count).toBe(before.rows.length);
    });

    test("GET /api/v1/runs?limit=1000 returns all 60 rows, newest created_at first by instant", async () => {
      const { status, body } = await getJson(live(), "/api/v1/runs?limit=1000");
      expect(status).toBe(200);
      expect(Array.isArray(body)).toBe(true);
      expect(body.length).toBe(60);
      expect(body.map((r: Json) => r.event_id)).toEqual(expectedOrder(before.rows));
    });

    test("every RunRecord returns the stored values as stored (legacy created_at included)", async () => {
      const { body } = await getJson(live(), "/api/v1/runs?limit=1000");
      const byEventId = new Map<string, Json>(body.map((r: Json) => [r.event_id as string, r]));
      const problems: string[] = [];
      for (const row of before.rows) {
        const record = byEventId.get(String(row.event_id));
        if (!record) {
          problems.push(`${row.event_id} missing`);
          continue;
        }
        for (const column of before.columns) {
          const stored = row[column];
          let expected: unknown = stored;
          if (column === "api_posted" && stored !== null) expected = stored !== 0;
          if ((column === "metrics_json" || column === "context_json") && typeof stored === "string" && isJsonText(stored)) expected = JSON.parse(stored);
          if (!Bun.deepEquals(record[column], expected, true)) problems.push(`${row.id}.${column}: ${JSON.stringify(record[column])} != ${JSON.stringify(expected)}`);
        }
        for (const column of COMMIT_COLUMNS) if (!(column in record)) problems.push(`${row.id}.${column} missing from RunRecord`);
        for (const derived of ["commit_url", "repo_url"]) if (!(derived in record)) problems.push(`${row.id}.${derived} missing`);
      }
      expect(problems).toEqual([]);
    });

    test("GET /api/v1/runs/{event_id} of a legacy row is one object equal to its list item", async () => {
      const oldest = before.rows[0]!;
      const one = await getJson(live(), `/api/v1/runs/${encodeURIComponent(String(oldest.event_id))}`);
      expect(one.status).toBe(200);
      expect(Array.isArray(one.body)).toBe(false);
      const list = await getJson(live(), "/api/v1/runs?limit=1000");
      expect(one.body).toEqual(list.body.find((r: Json) => r.event_id === oldest.event_id));
      expect(one.body.created_at).toBe(oldest.created_at);
    });

    test("the row whose metrics_json is `not json{` comes back raw with metrics_json_parse_error", async () => {
      const broken = before.rows.find((r) => r.metrics_json === "not json{")!;
      const { status, body } = await getJson(live(), `/api/v1/runs/${encodeURIComponent(String(broken.event_id))}`);
      expect(status).toBe(200);
      expect(body.metrics_json).toBe("not json{");
      expect(body).toHaveProperty("metrics_json_parse_error");
      expect(body.metrics_json_parse_error).toBeTruthy();
      expect(body).not.toHaveProperty("context_json_parse_error");
      const list = await getJson(live(), "/api/v1/runs?limit=1000");
      const withErrors = list.body.filter((r: Json) => "metrics_json_parse_error" in r || "context_json_parse_error" in r);
      expect(withErrors.map((r: Json) => r.event_id)).toEqual([broken.event_id]);
      expect(withErrors[0].metrics_json).toBe("not json{");
    });

    for (const filter of FILTER_CASES) {
      test(`filter: ${filter.name}`, async () => {
        const query = new URLSearchParams({ ...filter.params, limit: "1000" });
        const { status, body } = await getJson(live(), `/api/v1/runs?${query}`);
        expect(status).toBe(200);
        expect(body.map((r: Json) => r.event_id)).toEqual(expectedForFilter(before.rows, filter.params));
      });
    }

    test("/metrics total and per-agent counts equal SQL counts on the snapshot", async () => {
      const sqlCounts = withDb(snapshotPath, true, (db) =>
        db.query<{ agent_name: string; n: number }, []>("SELECT agent_name, count(*) AS n FROM agent_runs GROUP BY agent_name").all(),
      );
      const sqlTotal = withDb(snapshotPath, true, (db) => db.query<{ n: number }, []>("SELECT count(*) AS n FROM agent_runs").get()!.n);
      const startedMs = Date.now();
      const { status, body } = await getJson(live(), "/metrics");
      const endedMs = Date.now();
      expect(status).toBe(200);
      expect(body.total_runs).toBe(sqlTotal);
      expect(body.agents).toEqual(Object.fromEntries(sqlCounts.map((r) => [r.agent_name, r.n])));
      const counts = Object.values(body.agents as Record<string, number>);
      expect(counts).toEqual([...counts].sort((a, b) => b - a)); // largest first
      // recent_24h: created_at at or after now - 24 h, by instant; "now" lies between the two clock readings.
      const recentSince = (ms: number) => before.rows.filter((r) => instantUs(String(r.created_at)) >= BigInt(ms - 86_400_000) * 1000n).length;
      expect(body.recent_24h).toBeGreaterThanOrEqual(recentSince(endedMs + 1));
      expect(body.recent_24h).toBeLessThanOrEqual(recentSince(startedMs - 1));
      expect(body.performance).toEqual({ db_path: dbPath, journal_mode: "WAL" });
    });

    test("/api/v1/metadata lists the distinct names in code-point order with counts", async () => {
      const byCodePoint = (a: string, b: string) => {
        const x = Array.from(a, (ch) => ch.codePointAt(0)!);
        const y = Array.from(b, (ch) => ch.codePointAt(0)!);
        for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
        return x.length - y.length;
      };
      const agents = [...new Set(before.rows.map((r) => String(r.agent_name)))].sort(byCodePoint);
      const jobs = [...new Set(before.rows.map((r) => String(r.job_type)))].sort(byCodePoint);
      const { status, body } = await getJson(live(), "/api/v1/metadata");
      expect(status).toBe(200);
      expect(body).toEqual({ agent_names: agents, job_types: jobs, counts: { agent_names: agents.length, job_types: jobs.length } });
    });

    test("/health reports journal_mode WAL: the old DELETE database is switched", async () => {
      const { status, body } = await getJson(live(), "/health");
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: "ok", journal_mode: "WAL", synchronous: "FULL", db_path: dbPath });
      // Read back from the file by another connection, not only from the server's own report.
      expect(withDb(dbPath, false, (db) => db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()!.journal_mode)).toBe("wal");
    });

    test("POST after migration works and new runs interleave with legacy rows by instant", async () => {
      const maxMs = Math.max(...before.rows.map((r) => Number(instantUs(String(r.created_at)) / 1000n)));
      const later = { event_id: `migrated-${fixture}-later`, run_id: "after-migration-1", created_at: atOffset(maxMs + 1000, -8 * 60) };
      const earlier = { event_id: `migrated-${fixture}-earlier`, run_id: "after-migration-2", created_at: atOffset(maxMs - 1000, 5 * 60) };
      for (const run of [later, earlier]) {
        const response = await live().call("POST", "/api/v1/runs", {
          ...run,
          agent_name: "post-migration-agent",
          job_type: "post-migration-job",
          start_time: "2026-01-05T10:40:27-08:00",
          metrics_json: { written: "after migration" },
        });
        expect(response.status).toBe(201);
        expect(await response.json()).toEqual({ status: "created", event_id: run.event_id, run_id: run.run_id });
        newEventIds.push(run.event_id);
      }
      const stored = await getJson(live(), `/api/v1/runs/${later.event_id}`);
      expect(stored.body.created_at).toBe(later.created_at);
      expect(stored.body.metrics_json).toEqual({ written: "after migration" });

      const list = await getJson(live(), "/api/v1/runs?limit=1000");
      expect(list.body.length).toBe(62);
      const expected = [
        ...before.rows,
        { ...later, id: 1_000_000_001 },
        { ...earlier, id: 1_000_000_002 },
      ] as Row[];
      expect(list.body.map((r: Json) => r.event_id)).toEqual(expectedOrder(expected));
    });

    test("PATCH of an old row works after migration and changes only what it names", async () => {
      const broken = before.rows.find((r) => r.metrics_json === "not json{")!;
      touched.add(Number(broken.id));
      const response = await live().call("PATCH", `/api/v1/runs/${broken.event_id}`, {
        status: "success",
        end_time: "2025-12-20T04:25:00-08:00",
        items_succeeded: 7,
        metrics_json: { repaired: true },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        event_id: broken.event_id,
        updated: true,
        fields_updated: ["status", "end_time", "items_succeeded", "metrics_json"],
      });
      const { body } = await getJson(live(), `/api/v1/runs/${broken.event_id}`);
      expect(body).toMatchObject({ status: "success", end_time: "2025-12-20T04:25:00-08:00", items_succeeded: 7, metrics_json: { repaired: true } });
      expect(body).not.toHaveProperty("metrics_json_parse_error");
      expect(body.updated_at).not.toBe(broken.updated_at);
      for (const kept of ["event_id", "run_id", "created_at", "start_time", "agent_name", "job_type", "items_discovered", "items_failed", "git_repo"]) {
        expect(body[kept]).toEqual(broken[kept]);
      }
    });

    test("PATCH of the oldest row (zone-less created_at in v6) keeps its created_at and its place in the order", async () => {
      const oldest = before.rows[0]!;
      touched.add(Number(oldest.id));
      const response = await live().call("PATCH", `/api/v1/runs/${oldest.event_id}`, { status: "cancelled", error_summary: "closed after migration" });
      expect(response.status).toBe(200);
      const { body } = await getJson(live(), `/api/v1/runs/${oldest.event_id}`);
      expect(body.created_at).toBe(oldest.created_at);
      expect(body.status).toBe("cancelled");
      const filtered = await getJson(live(), `/api/v1/runs?status=cancelled&agent_name=${encodeURIComponent(String(oldest.agent_name))}&limit=1000`);
      expect(filtered.body.map((r: Json) => r.event_id)).toContain(oldest.event_id);
    });

    test("associate-commit on an old row fills the added commit columns", async () => {
      const row = before.rows[1]!;
      touched.add(Number(row.id));
      const commit = {
        commit_hash: "0123456789abcdef0123456789abcdef01234567",
        commit_source: "llm",
        commit_author: "Claude Code <noreply@anthropic.com>",
        commit_timestamp: "2026-01-02T10:00:00-08:00",
      };
      const response = await live().call("POST", `/api/v1/runs/${row.event_id}/associate-commit`, commit);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: "success", event_id: row.event_id, run_id: row.run_id, commit_hash: commit.commit_hash });
      const { body } = await getJson(live(), `/api/v1/runs/${row.event_id}`);
      expect(body).toMatchObject({
        git_commit_hash: commit.commit_hash,
        git_commit_source: "llm",
        git_commit_author: commit.commit_author,
        git_commit_timestamp: commit.commit_timestamp,
      });
    });

    test("the writes left every other old row byte-for-byte unchanged", () => {
      const now = takeSnapshot(dbPath, false);
      expect(now.bytes.length).toBe(62);
      expect(byteDiffs(before, now, before.columns, touched)).toEqual([]);
    });

    test("opening the migrated copy a second time is a no-op", async () => {
      const listBefore = await getJson(live(), "/api/v1/runs?limit=1000");
      await live().close();
      server = undefined;
      const atRest = takeSnapshot(dbPath, false);

      server = await startTestServer({}, dbPath);
      const reopened = takeSnapshot(dbPath, false);
      const versions = reopened.migrations.map((m) => Number(m.version));
      expect(new Set(versions).size).toBe(versions.length);
      expect(reopened.migrations).toEqual(atRest.migrations);
      expect(reopened.tableInfo).toEqual(atRest.tableInfo);
      expect(reopened.schemaObjects).toEqual(atRest.schemaObjects);
      expect(reopened.rows).toEqual(atRest.rows);
      expect(byteDiffs(atRest, reopened, atRest.columns)).toEqual([]);

      const listAfter = await getJson(live(), "/api/v1/runs?limit=1000");
      expect(listAfter.body).toEqual(listBefore.body);
      expect((await getJson(live(), "/health")).body.journal_mode).toBe("WAL");
      const post = await live().call("POST", "/api/v1/runs", {
        event_id: `migrated-${fixture}-after-reopen`,
        run_id: "after-reopen",
        agent_name: "post-migration-agent",
        job_type: "post-migration-job",
        start_time: "2026-01-05T18:40:27Z",
      });
      expect(post.status).toBe(201);
    });

    test("the shared fixture itself was not modified", () => {
      expect(sha256(fixturePath)).toBe(fixtureHash);
      expect(existsSync(`${fixturePath}-wal`)).toBe(false);
      expect(existsSync(`${fixturePath}-journal`)).toBe(false);
    });
  });
}

describe("a fresh empty database", () => {
  let dir: string;
  let dbPath: string;
  let server: TestServer | undefined;
  const referenceInfo = () => withDb(join(FIXTURES, "reference-v6.sqlite"), true, (db) => db.query<Json, []>("SELECT * FROM pragma_table_info('agent_runs')").all());
  const referenceSql = () => withDb(join(FIXTURES, "reference-v6.sqlite"), true, (db) => db.query<{ sql: string }, []>("SELECT sql FROM sqlite_master WHERE name = 'agent_runs'").get()!.sql);
  const live = () => {
    if (!server) throw new Error("server not running");
    return server;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "telemetry-fresh-"));
    dbPath = join(dir, "telemetry.sqlite");
    server = await startTestServer({}, dbPath);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("gets the newest schema version", () => {
    const snap = takeSnapshot(dbPath, false);
    const versions = snap.migrations.map((m) => Number(m.version));
    expect(versions).toContain(8);
    expect(Math.max(...versions)).toBe(SCHEMA_VERSION);
    expect(new Set(versions).size).toBe(versions.length);
  });

  test("gets every reference column with the reference's type, NOT NULL, default and key, plus the new columns", () => {
    const snap = takeSnapshot(dbPath, false);
    const pick = (c: Json) => ({ name: c.name, type: String(c.type).toUpperCase(), notnull: c.notnull, dflt_value: c.dflt_value, pk: c.pk });
    for (const column of referenceInfo()) {
      const mine = snap.tableInfo.find((c) => c.name === column.name);
      expect(mine ? pick(mine) : { name: column.name, missing: true }).toEqual(pick(column));
    }
    for (const c of NEW_COLUMNS) expect(snap.columns).toContain(c);
  });

  test("keeps the reference's CHECK constraints and the UNIQUE event_id", () => {
    const normalise = (s: string) => s.replace(/\s+/g, " ");
    const mine = normalise(withDb(dbPath, false, (db) => db.query<{ sql: string }, []>("SELECT sql FROM sqlite_master WHERE name = 'agent_runs'").get()!.sql));
    const checks = normalise(referenceSql()).match(/CHECK \((?:[^()]|\([^()]*\))*\)/g) ?? [];
    expect(checks.length).toBe(7);
    for (const check of checks) expect(mine).toContain(check);
    withDb(dbPath, false, (db) => {
      const insert = (eventId: string, status: string, items: number) =>
        db.run("INSERT INTO agent_runs (event_id, run_id, start_time, agent_name, job_type, status, items_failed) VALUES (?, 'r', '2026-01-01T00:00:00Z', 'a', 'j', ?, ?)", [eventId, status, items]);
      expect(() => insert("fresh-check-1", "bogus", 0)).toThrow();
      expect(() => insert("fresh-check-2", "running", -1)).toThrow();
    });
  });

  test("is in WAL with synchronous FULL and serves an empty list", async () => {
    expect((await getJson(live(), "/health")).body).toMatchObject({ journal_mode: "WAL", synchronous: "FULL" });
    expect((await getJson(live(), "/api/v1/runs")).body).toEqual([]);
    expect((await getJson(live(), "/metrics")).body).toMatchObject({ total_runs: 0, agents: {}, recent_24h: 0 });
    expect((await getJson(live(), "/api/v1/metadata")).body).toEqual({ agent_names: [], job_types: [], counts: { agent_names: 0, job_types: 0 } });
  });

  test("the store refuses nothing on the already-migrated database: restart, read and write", async () => {
    const post = await live().call("POST", "/api/v1/runs", { event_id: "fresh-1", run_id: "r1", agent_name: "a", job_type: "j", start_time: "2026-01-05T18:40:27Z" });
    expect(post.status).toBe(201);
    await live().close();
    server = undefined;
    const atRest = takeSnapshot(dbPath, false);
    server = await startTestServer({}, dbPath);
    const reopened = takeSnapshot(dbPath, false);
    expect(reopened.migrations).toEqual(atRest.migrations);
    expect(reopened.tableInfo).toEqual(atRest.tableInfo);
    expect(reopened.schemaObjects).toEqual(atRest.schemaObjects);
    expect(reopened.rows).toEqual(atRest.rows);
    const again = await live().call("POST", "/api/v1/runs", { event_id: "fresh-1", run_id: "r1", agent_name: "a", job_type: "j", start_time: "2026-01-05T18:40:27Z" });
    expect(again.status).toBe(200);
    const second = await live().call("POST", "/api/v1/runs", { event_id: "fresh-2", run_id: "r2", agent_name: "a", job_type: "j", start_time: "2026-01-05T18:40:27Z" });
    expect(second.status).toBe(201);
    const patch = await live().call("PATCH", "/api/v1/runs/fresh-1", { status: "success" });
    expect(patch.status).toBe(200);
    expect((await getJson(live(), "/api/v1/runs")).body.map((r: Json) => r.event_id)).toEqual(["fresh-2", "fresh-1"]);
  });
});

describe("migrate() called directly", () => {
  test("on an empty database, twice: the second call changes nothing", () => {
    const db = new Database(":memory:");
    try {
      migrate(db);
      const first = {
        migrations: db.query("SELECT * FROM schema_migrations ORDER BY version").all(),
        schema: db.query("SELECT type, name, sql FROM sqlite_master ORDER BY name").all(),
      };
      expect(() => migrate(db)).not.toThrow();
      expect({
        migrations: db.query("SELECT * FROM schema_migrations ORDER BY version").all(),
        schema: db.query("SELECT type, name, sql FROM sqlite_master ORDER BY name").all(),
      }).toEqual(first);
      expect(first.migrations.map((m: any) => m.version)).toContain(8);
    } finally {
      db.close();
    }
  });

  for (const fixture of FIXTURE_NAMES) {
    test(`on a copy of ${fixture}, twice: rows unchanged, one schema_migrations row per version`, () => {
      const dir = mkdtempSync(join(tmpdir(), "telemetry-migrate-"));
      try {
        const path = join(dir, fixture);
        copyFileSync(join(FIXTURES, fixture), path);
        chmodSync(path, 0o644);
        const before = takeSnapshot(path, true);
        withDb(path, false, (db) => {
          migrate(db);
          migrate(db);
        });
        const after = takeSnapshot(path, false);
        expect(byteDiffs(before, after, before.columns)).toEqual([]);
        const versions = after.migrations.map((m) => Number(m.version));
        expect(new Set(versions).size).toBe(versions.length);
        expect(versions).toContain(8);
        // Every row got its instants, so none falls out of instant filters or ordering.
        expect(after.rows.filter((r) => r.created_at_us === null || r.start_time_us === null).map((r) => r.id)).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("rows written by another tool after migration", () => {
  test("get their instants on the next start and then filter and sort by instant", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telemetry-foreign-"));
    const dbPath = join(dir, "telemetry.sqlite");
    try {
      await (await startTestServer({}, dbPath)).app.stop();
      const shell = new Database(dbPath);
      // What an ops sqlite3 shell or the reference service would write: text timestamps only.
      shell.run(
        "INSERT INTO agent_runs (event_id, run_id, agent_name, job_type, start_time, created_at) VALUES ('foreign-1', 'r', 'ops', 'manual', '2026-01-01T10:00:00-08:00', '2026-01-01 18:30:00')",
      );
      shell.close();
      const server = await startTestServer({}, dbPath);
      try {
        const after = await (await server.call("GET", "/api/v1/runs?created_after=2026-01-01T18:00:00Z&start_time_from=2026-01-01T18:00:00Z")).json();
        expect((after as { event_id: string }[]).map((r) => r.event_id)).toEqual(["foreign-1"]);
        const before = await (await server.call("GET", "/api/v1/runs?created_before=2026-01-01T18:00:00Z")).json();
        expect(before).toEqual([]);
      } finally {
        await server.app.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FILTER_COLUMNS, listRunsStatements, READ_STATEMENTS, RunStore, statsSelect, type RunQuery } from "../../src/store/run-store.ts";

// The hot paths must never read agent_runs row by row from start to end: every plan names an index.
let dir: string;
let db: Database;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "telemetry-plans-"));
  const path = join(dir, "t.sqlite");
  await new RunStore({ path, journalMode: "WAL", synchronous: "FULL", busyTimeoutMs: 1000 }).close();
  db = new Database(path);
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function plan(sql: string, params: unknown[]): string[] {
  return db
    .query<{ detail: string }, never[]>(`EXPLAIN QUERY PLAN ${sql}`)
    .all(...(params as never[]))
    .map((r) => r.detail);
}

/** A plan line that walks agent_runs without an index is a full table scan. */
const fullScans = (details: string[]) => details.filter((d) => /^SCAN agent_runs\b/.test(d) && !/USING (COVERING )?INDEX/.test(d));

const RANGES = ["createdAfterUs", "createdBeforeUs", "startFromUs", "startToUs"] as const;

test("every filter combination GET /api/v1/runs offers uses an index on agent_runs", () => {
  const dimensions = [...FILTER_COLUMNS, ...RANGES];
  let checked = 0;
  for (let mask = 0; mask < 1 << dimensions.length; mask++) {
    const query: RunQuery = { equals: {}, limit: 100, offset: 0 };
    dimensions.forEach((dimension, bit) => {
      if (!(mask & (1 << bit))) return;
      if ((RANGES as readonly string[]).includes(dimension)) query[dimension as (typeof RANGES)[number]] = 1_700_000_000_000_000n;
      else query.equals[dimension as (typeof FILTER_COLUMNS)[number]] = dimension === "status" && mask % 2 ? ["failure", "timeout"] : ["x"];
    });
    const [{ sql, params }] = listRunsStatements(query) as [{ sql: string; params: unknown[] }];
    const details = plan(sql, params);
    if (fullScans(details).length) expect({ query, details }).toEqual({ query, details: ["no full scan"] });
    checked++;
  }
  expect(checked).toBe(1 << dimensions.length);
});

test("keyset pages (cursor, export, stats) use an index for every filter and pair of filters", () => {
  // All 2^14 combinations again would double this file's runtime; a cursor only adds a range on the columns
  // every (…, created_at_us, id) index already ends with, so single filters and pairs cover the plans it can change.
  const dimensions = [...FILTER_COLUMNS, ...RANGES];
  const positions = [{ createdAtUs: 1_700_000_000_000_000n, id: 42 }, { createdAtUs: null, id: 42 }];
  let checked = 0;
  for (let a = -1; a < dimensions.length; a++) {
    for (let b = a; b < dimensions.length; b++) {
      for (const after of positions) {
        const query: RunQuery = { equals: {}, limit: 1001, offset: 0, after };
        for (const dimension of new Set([dimensions[a], dimensions[b]])) {
          if (dimension === undefined) continue;
          if ((RANGES as readonly string[]).includes(dimension)) query[dimension as (typeof RANGES)[number]] = 1_600_000_000_000_000n;
          else query.equals[dimension as (typeof FILTER_COLUMNS)[number]] = dimension === "status" && b % 2 ? ["failure", "timeout"] : ["x"];
        }
        for (const select of [undefined, statsSelect("agent_name", "hour")]) {
          for (const { sql, params } of listRunsStatements(query, select)) {
            const details = plan(sql, params);
            if (fullScans(details).length) expect({ query, details }).toEqual({ query, details: ["no full scan"] });
            checked++;
          }
        }
      }
    }
  }
  expect(checked).toBeGreaterThan(400);
  // Unfiltered, each part is one range walk of idx_runs_created_us in list order: no sort, whatever the table's size.
  for (const after of positions) {
    for (const { sql, params } of listRunsStatements({ equals: {}, limit: 100, offset: 0, after })) {
      const details = plan(sql, params).join(" | ");
      expect(details).toContain("INDEX idx_runs_created_us");
      expect(details).not.toContain("TEMP B-TREE");
    }
  }
});

test("below a cursor, created_before does not bound the index range (else every page would re-walk the rows above it)", () => {
  const page = (createdAtUs: bigint) =>
    listRunsStatements({ equals: { agent_name: ["a"] }, createdAfterUs: 1n, createdBeforeUs: 2_000n, limit: 10, offset: 0, after: { createdAtUs, id: 5 } })[0]!.sql;
  expect(page(1_000n)).not.toContain("created_at_us < ?");
  expect(page(1_000n)).toContain("created_at_us > ?");
  // A position at or past the window's end (not one this query handed out) leaves the window in charge.
  expect(page(2_000n)).toContain("created_at_us < ?");
});

test("/metrics and /api/v1/metadata read the counter tables, and agent_runs only through an index", () => {
  const statements = Object.values(READ_STATEMENTS);
  for (const sql of statements) {
    const details = plan(sql, Array.from({ length: sql.split("?").length - 1 }, () => 1));
    expect({ sql, scans: fullScans(details) }).toEqual({ sql, scans: [] });
  }
  expect(plan(READ_STATEMENTS.createdBetween, [1, 2]).join(" ")).toContain("USING COVERING INDEX idx_runs_created_us");
});

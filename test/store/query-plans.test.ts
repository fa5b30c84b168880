import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FILTER_COLUMNS, listRunsStatement, READ_STATEMENTS, RunStore, type RunQuery } from "../../src/store/run-store.ts";

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
    const { sql, params } = listRunsStatement(query);
    const details = plan(sql, params);
    if (fullScans(details).length) expect({ query, details }).toEqual({ query, details: ["no full scan"] });
    checked++;
  }
  expect(checked).toBe(1 << dimensions.length);
});

test("/metrics and /api/v1/metadata read the counter tables, and agent_runs only through an index", () => {
  const statements = Object.values(READ_STATEMENTS);
  for (const sql of statements) {
    const details = plan(sql, Array.from({ length: sql.split("?").length - 1 }, () => 1));
    expect({ sql, scans: fullScans(details) }).toEqual({ sql, scans: [] });
  }
  expect(plan(READ_STATEMENTS.createdBetween, [1, 2]).join(" ")).toContain("USING COVERING INDEX idx_runs_created_us");
});

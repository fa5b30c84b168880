import type { Database } from "bun:sqlite";
import { parseFilterTimestamp } from "../domain/timestamps.ts";
import { RUN_COLUMNS, TABLE_CHECKS } from "./columns.ts";
import { COUNTERS, counterSchema, rebuildCounter, rebuildCounters } from "./counters.ts";

/** Versions 6 and 7 are the reference service's; a database it wrote already records them. */
const REFERENCE_VERSIONS: Record<number, string> = {
  6: "Schema v6: Canonical telemetry schema",
  7: "Schema v7: job_type index",
};

/**
 * Every filter the API offers is an equality on one of these columns, ordered by creation instant;
 * a (column, created_at_us, id) index serves both the filter and the order without a sort or a scan.
 */
const INDEXES: readonly [name: string, columns: string][] = [
  ["idx_runs_created_us", "created_at_us DESC, id DESC"],
  ["idx_runs_start_us", "start_time_us"],
  ["idx_runs_agent_created_us", "agent_name, created_at_us, id"],
  ["idx_runs_status_created_us", "status, created_at_us, id"],
  ["idx_runs_job_created_us", "job_type, created_at_us, id"],
  ["idx_runs_environment_created_us", "environment, created_at_us, id"],
  ["idx_runs_host_created_us", "host, created_at_us, id"],
  ["idx_runs_product_created_us", "product, created_at_us, id"],
  ["idx_runs_website_section", "website, website_section"],
  ["idx_runs_run_id", "run_id"],
  ["idx_runs_parent_run", "parent_run_id"],
  ["idx_runs_commit", "git_commit_hash"],
];

interface Step {
  version: number;
  description: string;
  apply(db: Database): void;
}

/** Our steps, applied in order to whatever a database lacks; each runs once and is recorded. */
const STEPS: readonly Step[] = [
  {
    version: 8,
    description: "Schema v8: instant columns (created_at_us, start_time_us) for zone-correct filters and ordering",
    apply(db) {
      db.transaction(() => {
        const existing = new Set(db.query<{ name: string }, []>("SELECT name FROM pragma_table_info('agent_runs')").all().map((r) => r.name));
        if (existing.size === 0) {
          const body = [...RUN_COLUMNS.map((c) => `${c.name} ${c.decl}`), ...TABLE_CHECKS].join(",\n  ");
          db.run(`CREATE TABLE agent_runs (\n  ${body}\n)`);
        } else {
          for (const c of RUN_COLUMNS) if (!existing.has(c.name)) db.run(`ALTER TABLE agent_runs ADD COLUMN ${c.name} ${c.decl}`);
        }
      }).immediate();
      backfillInstants(db);
      db.transaction(() => {
        for (const [name, columns] of INDEXES) db.run(`CREATE INDEX IF NOT EXISTS ${name} ON agent_runs(${columns})`);
      }).immediate();
    },
  },
  {
    version: 9,
    description: "Schema v9: counter tables, so /metrics and /api/v1/metadata never scan agent_runs",
    apply(db) {
      db.transaction(() => {
        for (const counter of COUNTERS.slice(0, 3)) {
          for (const statement of counterSchema(counter)) db.run(statement);
          rebuildCounter(db, counter);
        }
      }).immediate();
    },
  },
  {
    version: 10,
    description: "Schema v10: runs per agent and status, kept like the other counters, for the Prometheus series",
    apply(db) {
      db.transaction(() => {
        const counter = COUNTERS[3]!;
        for (const statement of counterSchema(counter)) db.run(statement);
        rebuildCounter(db, counter);
      }).immediate();
    },
  },
];

/** The newest version this build writes. */
export const SCHEMA_VERSION = STEPS[STEPS.length - 1]!.version;

const BACKFILL_CHUNK = 5_000;

/** Brings any database (empty, reference v6/v7, or ours) to the newest version without losing or changing a row. */
export function migrate(db: Database): void {
  db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TEXT DEFAULT (datetime('now')),
    description TEXT
  )`);
  const applied = new Set(db.query<{ version: number }, []>("SELECT version FROM schema_migrations").all().map((r) => r.version));
  const record = db.query("INSERT OR IGNORE INTO schema_migrations (version, description) VALUES (?, ?)");
  const pending = STEPS.filter((step) => !applied.has(step.version));
  if (pending.length === 0) {
    // Rows another tool inserted while we were not running (an ops sqlite3 shell, a rolled-back reference
    // service) have no instants and were not counted; the indexes on both instant columns make finding
    // them a cheap look-up when there are none.
    if (backfillInstants(db) > 0) db.transaction(() => rebuildCounters(db)).immediate();
    return;
  }
  for (const [version, description] of Object.entries(REFERENCE_VERSIONS)) record.run(Number(version), description);
  for (const step of pending) {
    step.apply(db);
    record.run(step.version, step.description);
  }
}

/**
 * Old rows carry only text timestamps (some zone-less, from SQLite's datetime('now'), read as UTC).
 * Done in chunks so a 20M-row upgrade neither holds one giant transaction nor restarts from zero after a crash.
 */
function backfillInstants(db: Database): number {
  const select = db.query<{ id: number; created_at: string | null; start_time: string | null }, [number, number]>(
    `SELECT id, created_at, start_time FROM agent_runs
     WHERE id > ? AND (created_at_us IS NULL OR start_time_us IS NULL) ORDER BY id LIMIT ?`,
  );
  const update = db.query("UPDATE agent_runs SET created_at_us = ?, start_time_us = ? WHERE id = ?");
  let after = 0;
  let filled = 0;
  for (;;) {
    const rows = select.all(after, BACKFILL_CHUNK);
    if (rows.length === 0) return filled;
    db.transaction(() => {
      for (const row of rows) {
        const created = instantOrNull(row.created_at);
        const started = instantOrNull(row.start_time);
        update.run(created, started, row.id);
        // Unparseable legacy text stays NULL (and is found again next time); only real progress counts.
        if (created !== null || started !== null) filled++;
      }
    }).immediate();
    after = rows[rows.length - 1]!.id;
  }
}

function instantOrNull(text: string | null): bigint | null {
  if (text === null) return null;
  const parsed = parseFilterTimestamp(text);
  return parsed.ok ? parsed.micros : null;
}

import type { Database } from "bun:sqlite";
import { INSERTABLE_COLUMNS, RUN_COLUMNS } from "./columns.ts";
import { InsertTally } from "./counters.ts";
import { fileIdentity } from "./connection.ts";
import { StoreFailure } from "./errors.ts";
import { WriteQueue } from "./write-queue.ts";

export type SqlValue = string | number | bigint | boolean | null;
/** Column name → value for one new run; must include event_id, run_id, agent_name, job_type, start_time, created_at and both *_us instants. */
export type NewRun = Record<string, SqlValue>;

export type WriteOp =
  | { kind: "insert"; runs: readonly NewRun[] }
  | { kind: "update"; eventId: string; fields: Readonly<Record<string, SqlValue>> };
export type InsertOutcome = "created" | "duplicate";
export type WriteResult<Op extends WriteOp> = Op extends { kind: "insert" } ? InsertOutcome[] : { runId: string } | null;

const INSERT_SQL = `INSERT INTO agent_runs (${INSERTABLE_COLUMNS.map((c) => c.name).join(", ")})
  VALUES (${INSERTABLE_COLUMNS.map(() => "?").join(", ")}) ON CONFLICT(event_id) DO NOTHING`;
const COLUMN_ORDER = new Map(RUN_COLUMNS.map((c, i) => [c.name, i]));

/** Applies write ops on its own connection through the group-commit queue, keeping the insert counters. */
export class RunWriter {
  private readonly tally = new InsertTally();
  private readonly queue: WriteQueue<WriteOp, unknown>;

  /** `identity` is the file the server thread migrated; a different (or no) file at `path` later refuses writes. */
  constructor(
    private readonly db: Database,
    path: string,
    identity: string | null,
  ) {
    this.queue = new WriteQueue(db, (op) => this.apply(op), {
      // A database file deleted or replaced under us would take every later "acknowledged" write with it.
      beforeBegin: () => {
        if (identity !== null && fileIdentity(path) !== identity) {
          throw new StoreFailure("unavailable", "Database file was removed or replaced on disk; restart the server once it is restored");
        }
      },
      beforeCommit: () => this.tally.flush(db),
      onRollback: () => this.tally.clear(),
    });
  }

  /** Resolves only after the transaction holding the op has committed. */
  submit(op: WriteOp): Promise<unknown> {
    return this.queue.submit(op);
  }

  /** Commits what is queued, folds the WAL back into the database file, then closes the connection. */
  async close(): Promise<void> {
    await this.queue.drain();
    try {
      this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      this.db.close();
    }
  }

  private apply(op: WriteOp): unknown {
    if (op.kind === "insert") {
      const insert = this.db.query<unknown, SqlValue[]>(INSERT_SQL);
      const outcomes = op.runs.map((run): InsertOutcome => {
        const values = INSERTABLE_COLUMNS.map((c) => run[c.name] ?? c.insertDefault);
        return insert.run(...values).changes === 1 ? "created" : "duplicate";
      });
      // Counted only once every insert of the op succeeded: a failing op is rolled back whole.
      op.runs.forEach((run, i) => {
        if (outcomes[i] === "created") this.tally.add(run.agent_name as string, run.job_type as string, run.created_at_us as bigint);
      });
      return outcomes;
    }
    const names = Object.keys(op.fields).sort((a, b) => COLUMN_ORDER.get(a)! - COLUMN_ORDER.get(b)!);
    const sql = `UPDATE agent_runs SET ${names.map((n) => `${n} = ?`).join(", ")} WHERE event_id = ? RETURNING run_id`;
    const row = this.db.query<{ run_id: string }, SqlValue[]>(sql).get(...names.map((n) => op.fields[n]!), op.eventId);
    return row ? { runId: row.run_id } : null;
  }
}

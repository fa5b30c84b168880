import type { Database } from "bun:sqlite";
import { INSERTABLE_COLUMNS, RUN_COLUMNS } from "./columns.ts";
import { InsertTally } from "./counters.ts";
import { fileIdentity } from "./connection.ts";
import { StoreFailure } from "./errors.ts";
import { MAINTENANCE_BATCH, markStaleBatch, pruneBatch, reclaimFreePages, STALE_NOTE_REVERT, type SpaceReport } from "./maintenance.ts";
import { WriteQueue } from "./write-queue.ts";

export type SqlValue = string | number | bigint | boolean | null;
/** Column name → value for one new run; must include event_id, run_id, agent_name, job_type, start_time, created_at and both *_us instants. */
export type NewRun = Record<string, SqlValue>;

export type WriteOp =
  | { kind: "insert"; runs: readonly NewRun[] }
  | { kind: "update"; eventId: string; fields: Readonly<Record<string, SqlValue>> }
  // Maintenance, one small batch per op so client writes interleave (see maintenance.ts).
  | { kind: "prune"; createdBeforeUs: bigint }
  | { kind: "markStale"; startedBeforeUs: bigint; note: string; updatedAt: string }
  | { kind: "reclaim"; maxPages: number };
export type InsertOutcome = "created" | "duplicate";
interface WriteResults {
  insert: InsertOutcome[];
  update: { runId: string } | null;
  prune: { deleted: number };
  markStale: { marked: number };
  reclaim: SpaceReport;
}
export type WriteResult<Op extends WriteOp> = WriteResults[Op["kind"]];

const INSERT_SQL = `INSERT INTO agent_runs (${INSERTABLE_COLUMNS.map((c) => c.name).join(", ")})
  VALUES (${INSERTABLE_COLUMNS.map(() => "?").join(", ")}) ON CONFLICT(event_id) DO NOTHING`;
const COLUMN_ORDER = new Map(RUN_COLUMNS.map((c, i) => [c.name, i]));
const DEFAULTS = new Map(INSERTABLE_COLUMNS.map((c) => [c.name, c.insertDefault]));

/** Applies write ops on its own connection through the group-commit queue, keeping the insert counters. */
export class RunWriter {
  private readonly tally = new InsertTally();
  private readonly queue: WriteQueue<WriteOp, unknown>;

  /** `identity` is the file the server thread migrated; a different (or no) file at `path` later refuses writes. */
  constructor(
    private readonly db: Database,
    path: string,
    identity: string | null,
    onGroup: (size: number) => void = () => {},
  ) {
    this.queue = new WriteQueue(db, (op) => this.apply(op), {
      // A database file deleted or replaced under us would take every later "acknowledged" write with it.
      beforeBegin: () => {
        if (identity !== null && fileIdentity(path) !== identity) {
          throw new StoreFailure("unavailable", "Database file was removed or replaced on disk; restart the server once it is restored");
        }
      },
      afterGroup: onGroup,
      // Count-changing triggers (a PATCH of status, deletes) must see every earlier insert of the group already
      // counted, or they would adjust counts that do not exist yet.
      beforeOp: (op) => {
        if (op.kind !== "insert") this.flushTally();
      },
      beforeCommit: () => this.flushTally(),
      onRollback: () => this.tally.clear(),
    });
  }

  private flushTally(): void {
    this.tally.flush(this.db);
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
        if (outcomes[i] === "created") this.tally.add((name) => (run[name] ?? DEFAULTS.get(name) ?? null) as string | number | bigint | null);
      });
      return outcomes;
    }
    if (op.kind === "prune") return { deleted: pruneBatch(this.db, op.createdBeforeUs, MAINTENANCE_BATCH) };
    if (op.kind === "markStale") {
      return { marked: markStaleBatch(this.db, op.startedBeforeUs, op.note, op.updatedAt, MAINTENANCE_BATCH) };
    }
    if (op.kind === "reclaim") return reclaimFreePages(this.db, op.maxPages);
    const names = Object.keys(op.fields).sort((a, b) => COLUMN_ORDER.get(a)! - COLUMN_ORDER.get(b)!);
    const sets = names.map((n) => `${n} = ?`);
    // The agent's own status replaces the server's stale-run guess, and with it the note the server wrote.
    if (names.includes("status") && !names.includes("error_summary")) sets.push(STALE_NOTE_REVERT);
    const sql = `UPDATE agent_runs SET ${sets.join(", ")} WHERE event_id = ? RETURNING run_id`;
    const row = this.db.query<{ run_id: string }, SqlValue[]>(sql).get(...names.map((n) => op.fields[n]!), op.eventId);
    return row ? { runId: row.run_id } : null;
  }
}

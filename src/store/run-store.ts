import { Database, type SQLQueryBindings } from "bun:sqlite";
import { INSERTABLE_COLUMNS, PUBLIC_COLUMNS, RUN_COLUMNS, type RunRow } from "./columns.ts";
import { InsertTally, MINUTE_US } from "./counters.ts";
import { classifyStoreError } from "./errors.ts";
import { migrate } from "./migrations.ts";
import { WriteQueue } from "./write-queue.ts";

export type SqlValue = string | number | bigint | boolean | null;
/** Column name → value for one new run; must include event_id, run_id, agent_name, job_type, start_time, created_at and both *_us instants. */
export type NewRun = Record<string, SqlValue>;

/** Columns the list endpoint can filter on by equality (several values mean "any of"). */
export const FILTER_COLUMNS = [
  "agent_name", "status", "job_type", "parent_run_id", "run_id", "git_commit_hash", "environment", "host", "product", "website",
] as const;
export type FilterColumn = (typeof FILTER_COLUMNS)[number];

export interface RunQuery {
  equals: Partial<Record<FilterColumn, readonly string[]>>;
  createdAfterUs?: bigint;
  createdBeforeUs?: bigint;
  startFromUs?: bigint;
  startToUs?: bigint;
  limit: number;
  offset: number;
}

export interface StoreOptions {
  path: string;
  journalMode: string;
  synchronous: string;
  busyTimeoutMs: number;
}

export type WriteOp =
  | { kind: "insert"; runs: readonly NewRun[] }
  | { kind: "update"; eventId: string; fields: Readonly<Record<string, SqlValue>> };
export type InsertOutcome = "created" | "duplicate";
export type WriteResult<Op extends WriteOp> = Op extends { kind: "insert" } ? InsertOutcome[] : { runId: string } | null;

const SELECT_LIST = PUBLIC_COLUMNS.join(", ");
const INSERT_SQL = `INSERT INTO agent_runs (${INSERTABLE_COLUMNS.map((c) => c.name).join(", ")}) VALUES (${INSERTABLE_COLUMNS.map(() => "?").join(", ")})
  ON CONFLICT(event_id) DO NOTHING`;
const COLUMN_ORDER = new Map(RUN_COLUMNS.map((c, i) => [c.name, i]));
const SYNCHRONOUS_NAMES = ["OFF", "NORMAL", "FULL", "EXTRA"];

/** The statements behind /metrics, /api/v1/metadata and a single-run lookup (the query-plan test reads them too). */
export const READ_STATEMENTS = {
  agentCounts: "SELECT agent_name, runs FROM run_counts_by_agent ORDER BY runs DESC, agent_name",
  minutesAfter: "SELECT coalesce(sum(runs), 0) AS n FROM run_counts_by_minute WHERE minute > ?",
  createdBetween: "SELECT count(*) AS n FROM agent_runs WHERE created_at_us >= ? AND created_at_us < ?",
  agentNames: "SELECT agent_name AS v FROM run_counts_by_agent ORDER BY agent_name",
  jobTypes: "SELECT job_type AS v FROM run_counts_by_job_type ORDER BY job_type",
  byEventId: `SELECT ${SELECT_LIST} FROM agent_runs WHERE event_id = ?`,
} as const;

/** The SELECT for one list query: an equality or IN per filter, instant ranges, newest first, ties by id. */
export function listRunsStatement(query: RunQuery): { sql: string; params: SQLQueryBindings[] } {
  const where: string[] = [];
  const params: SQLQueryBindings[] = [];
  for (const column of FILTER_COLUMNS) {
    const values = query.equals[column];
    if (!values || values.length === 0) continue;
    where.push(values.length === 1 ? `${column} = ?` : `${column} IN (${values.map(() => "?").join(", ")})`);
    params.push(...values);
  }
  const range = (sql: string, value: bigint | undefined) => {
    if (value === undefined) return;
    where.push(sql);
    params.push(value);
  };
  range("created_at_us > ?", query.createdAfterUs);
  range("created_at_us < ?", query.createdBeforeUs);
  range("start_time_us >= ?", query.startFromUs);
  range("start_time_us <= ?", query.startToUs);
  params.push(query.limit, query.offset);
  const sql = `SELECT ${SELECT_LIST} FROM agent_runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY created_at_us DESC, id DESC LIMIT ? OFFSET ?`;
  return { sql, params };
}

/** The only owner of the database connection: schema, reads, and the single write path. */
export class RunStore {
  private readonly db: Database;
  private readonly writes: WriteQueue<WriteOp, unknown>;
  private readonly tally = new InsertTally();

  constructor(readonly options: StoreOptions) {
    this.db = new Database(options.path, { create: true, strict: true });
    try {
      this.db.run(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
      this.db.run(`PRAGMA journal_mode = ${options.journalMode}`);
      this.db.run(`PRAGMA synchronous = ${options.synchronous}`);
      // Keeps the WAL from growing without bound once readers let go of old snapshots.
      this.db.run("PRAGMA journal_size_limit = 67108864");
      // Statement journals and sorts in memory, and a page cache that holds the hot index pages of a few million rows.
      this.db.run("PRAGMA temp_store = MEMORY");
      this.db.run("PRAGMA cache_size = -32768");
      migrate(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.writes = new WriteQueue(this.db, (op) => this.apply(op), {
      beforeCommit: () => this.tally.flush(this.db),
      onRollback: () => this.tally.clear(),
    });
  }

  /** Every write goes through here; it resolves only after the transaction holding it has committed. */
  write<Op extends WriteOp>(op: Op): Promise<WriteResult<Op>> {
    return this.writes.submit(op) as Promise<WriteResult<Op>>;
  }

  getRun(eventId: string): RunRow | null {
    return this.read(() => this.db.query<RunRow, [string]>(READ_STATEMENTS.byEventId).get(eventId));
  }

  listRuns(query: RunQuery): RunRow[] {
    const { sql, params } = listRunsStatement(query);
    return this.read(() => this.db.query<RunRow, SQLQueryBindings[]>(sql).all(...params));
  }

  /** Answered from the counter tables: cost grows with the number of agents, not of runs. */
  metrics(recentSinceUs: bigint): { total: number; agents: [string, number][]; recent: number } {
    return this.read(() => {
      const agents = this.db
        .query<{ agent_name: string; runs: number }, []>(READ_STATEMENTS.agentCounts)
        .all()
        .map((r): [string, number] => [r.agent_name, r.runs]);
      const total = agents.reduce((sum, [, runs]) => sum + runs, 0);
      // Whole minutes after the boundary come from the buckets; the boundary minute is counted exactly.
      const boundary = recentSinceUs / MINUTE_US;
      const wholeMinutes = this.db
        .query<{ n: number }, [bigint]>(READ_STATEMENTS.minutesAfter)
        .get(boundary)!.n;
      const partialMinute = this.db
        .query<{ n: number }, [bigint, bigint]>(READ_STATEMENTS.createdBetween)
        .get(recentSinceUs, (boundary + 1n) * MINUTE_US)!.n;
      return { total, agents, recent: wholeMinutes + partialMinute };
    });
  }

  metadata(): { agentNames: string[]; jobTypes: string[] } {
    return this.read(() => ({
      agentNames: this.db.query<{ v: string }, []>(READ_STATEMENTS.agentNames).all().map((r) => r.v),
      jobTypes: this.db.query<{ v: string }, []>(READ_STATEMENTS.jobTypes).all().map((r) => r.v),
    }));
  }

  /** Journal mode and synchronous level as the open database reports them, upper-cased as the contract shows. */
  settings(): { journalMode: string; synchronous: string } {
    return this.read(() => {
      const journal = this.db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()!.journal_mode;
      const sync = this.db.query<{ synchronous: number }, []>("PRAGMA synchronous").get()!.synchronous;
      return { journalMode: journal.toUpperCase(), synchronous: SYNCHRONOUS_NAMES[sync] ?? String(sync) };
    });
  }

  /** Commits what is queued, folds the WAL back into the database file, then closes. */
  async close(): Promise<void> {
    await this.writes.drain();
    try {
      this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      this.db.close();
    }
  }

  private read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw classifyStoreError(error);
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

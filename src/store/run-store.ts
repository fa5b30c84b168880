import type { Database, SQLQueryBindings } from "bun:sqlite";
import { statSync } from "node:fs";
import { PUBLIC_COLUMNS, type RunRow } from "./columns.ts";
import { fileIdentity, openConnection, type StoreOptions } from "./connection.ts";
import { MINUTE_US } from "./counters.ts";
import { classifyStoreError } from "./errors.ts";
import { migrate } from "./migrations.ts";
import type { WriteOp, WriteResult } from "./run-writer.ts";
import { WriterClient } from "./writer-client.ts";

export type { InsertOutcome, NewRun, SqlValue, WriteOp, WriteResult } from "./run-writer.ts";
export type { StoreOptions } from "./connection.ts";

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

const SELECT_LIST = PUBLIC_COLUMNS.join(", ");
const READ_BUSY_TIMEOUT_MS = 250;
const SYNCHRONOUS_NAMES = ["OFF", "NORMAL", "FULL", "EXTRA"];

/** The statements behind /metrics, /api/v1/metadata and a single-run lookup (the query-plan test reads them too). */
export const READ_STATEMENTS = {
  agentCounts: "SELECT agent_name, runs FROM run_counts_by_agent ORDER BY runs DESC, agent_name",
  minutesAfter: "SELECT coalesce(sum(runs), 0) AS n FROM run_counts_by_minute WHERE minute > ?",
  createdBetween: "SELECT count(*) AS n FROM agent_runs WHERE created_at_us >= ? AND created_at_us < ?",
  agentNames: "SELECT agent_name AS v FROM run_counts_by_agent ORDER BY agent_name",
  jobTypes: "SELECT job_type AS v FROM run_counts_by_job_type ORDER BY job_type",
  byEventId: `SELECT ${SELECT_LIST} FROM agent_runs WHERE event_id = ?`,
  agentStatusCounts: "SELECT agent_name, status, runs FROM run_counts_by_agent_status ORDER BY agent_name, status",
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

/**
 * The database: reads on this thread's connection, every write on a writer thread's connection (so the
 * fsync of a commit never stalls request handling), schema and migrations done before either is used.
 */
export class RunStore {
  private readonly db: Database;
  private readonly writer: WriterClient;

  /** `onWriteGroup` hears the size of every committed group (for metrics). */
  constructor(
    readonly options: StoreOptions,
    onWriteGroup: (size: number) => void = () => {},
  ) {
    this.db = openConnection(options, "owner");
    try {
      migrate(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
    // From here this connection only answers reads, on the thread that serves HTTP: a long wait for another
    // process's lock would stall every request, so reads fail fast (503) while writes wait the full timeout.
    this.db.run(`PRAGMA busy_timeout = ${Math.min(options.busyTimeoutMs, READ_BUSY_TIMEOUT_MS)}`);
    this.writer = new WriterClient(options, fileIdentity(options.path), onWriteGroup);
  }

  /** Every write goes through here; it resolves only after the transaction holding it has committed. */
  write<Op extends WriteOp>(op: Op): Promise<WriteResult<Op>> {
    return this.writer.submit(op) as Promise<WriteResult<Op>>;
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

  /** Runs per (agent, status) from the counter table, for the Prometheus series. */
  runsByAgentAndStatus(): { agent_name: string; status: string; runs: number }[] {
    return this.read(() => this.db.query<{ agent_name: string; status: string; runs: number }, []>(READ_STATEMENTS.agentStatusCounts).all());
  }

  /** Bytes on disk of the database file and its WAL (0 when absent). */
  fileSizes(): { database: number; wal: number } {
    const size = (path: string) => {
      try {
        return statSync(path).size;
      } catch {
        return 0;
      }
    };
    return { database: size(this.options.path), wal: size(`${this.options.path}-wal`) };
  }

  metadata(): { agentNames: string[]; jobTypes: string[] } {
    return this.read(() => ({
      agentNames: this.db.query<{ v: string }, []>(READ_STATEMENTS.agentNames).all().map((r) => r.v),
      jobTypes: this.db.query<{ v: string }, []>(READ_STATEMENTS.jobTypes).all().map((r) => r.v),
    }));
  }

  /** Null while writes succeed; otherwise the reason the last write could not be stored. */
  get writeProblem(): string | null {
    return this.writer.degraded;
  }

  /** Journal mode and synchronous level as the open database reports them, upper-cased as the contract shows. */
  settings(): { journalMode: string; synchronous: string } {
    return this.read(() => {
      const journal = this.db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()!.journal_mode;
      const sync = this.db.query<{ synchronous: number }, []>("PRAGMA synchronous").get()!.synchronous;
      return { journalMode: journal.toUpperCase(), synchronous: SYNCHRONOUS_NAMES[sync] ?? String(sync) };
    });
  }

  /** Lets the writer commit what is queued, checkpoint and close, then closes the reading connection. */
  async close(): Promise<void> {
    await this.writer.close();
    this.db.close();
  }

  private read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw classifyStoreError(error);
    }
  }
}

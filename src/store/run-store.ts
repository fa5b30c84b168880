import type { Database, SQLQueryBindings } from "bun:sqlite";
import { BUCKET_US, type Bucket, type StatsGroup } from "../domain/stats.ts";
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
  /** Rows to skip; not used when `after` is set. */
  offset: number;
  /** Keyset paging: only the rows that come after this one in list order. */
  after?: RunPosition;
}

/**
 * A row's place in list order (newest created_at first, ties by id, newest first): its instant and id.
 * Legacy rows whose created_at could not be read have no instant (null) and come last, by id.
 */
export interface RunPosition {
  createdAtUs: bigint | null;
  id: number;
}

/** One page of a list query and the position of its last row when more rows follow (null on the last page). */
export interface Page<Row> {
  rows: Row[];
  next: RunPosition | null;
}

/** What the stats endpoint reads of a run: [time bucket number, group value, status, duration_ms, id]. */
export type StatsRow = [bucket: number, group: string | null, status: string, durationMs: number, id: number];

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
  positionById: "SELECT created_at_us FROM agent_runs WHERE id = ?",
  agentStatusCounts: "SELECT agent_name, status, runs FROM run_counts_by_agent_status ORDER BY agent_name, status",
} as const;

/**
 * The SELECTs for one list query, run in order until `limit` rows are found: an equality or IN per filter,
 * instant ranges, newest first, ties by id. Offset paging is one statement. Keyset paging (`after`) is a
 * row-value range on (created_at_us, id), which the (…, created_at_us, id) indexes answer as a range, then the
 * rows without an instant (NULL sorts last in this order, and a row-value comparison never matches it).
 */
export function listRunsStatements(query: RunQuery, select: string = SELECT_LIST): { sql: string; params: SQLQueryBindings[] }[] {
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
  const { after } = query;
  range("created_at_us > ?", query.createdAfterUs);
  // Below a keyset position the position is the tighter upper bound. Both at once would let SQLite bound the
  // index range by created_before and merely filter by the position: every page would re-walk the rows above it.
  const positionBounds = after?.createdAtUs != null && query.createdBeforeUs !== undefined && after.createdAtUs < query.createdBeforeUs;
  range("created_at_us < ?", positionBounds ? undefined : query.createdBeforeUs);
  range("start_time_us >= ?", query.startFromUs);
  range("start_time_us <= ?", query.startToUs);
  const statement = (extra: string[], extraParams: SQLQueryBindings[], offset: number) => {
    const all = [...where, ...extra];
    const sql = `SELECT ${select} FROM agent_runs ${all.length ? `WHERE ${all.join(" AND ")}` : ""}
    ORDER BY created_at_us DESC, id DESC LIMIT ? OFFSET ?`;
    return { sql, params: [...params, ...extraParams, query.limit, offset] };
  };
  if (!after) return [statement([], [], query.offset)];
  const statements = [];
  if (after.createdAtUs !== null) statements.push(statement(["(created_at_us, id) < (?, ?)"], [after.createdAtUs, after.id], 0));
  // A created_at range never matches a row without an instant, so then there is no second part.
  if (query.createdAfterUs === undefined && query.createdBeforeUs === undefined) {
    statements.push(after.createdAtUs === null ? statement(["created_at_us IS NULL", "id < ?"], [after.id], 0) : statement(["created_at_us IS NULL"], [], 0));
  }
  return statements;
}

/** The SELECT list of a stats page: the run's time bucket (floored, also before 1970), group, status, duration, id. */
export function statsSelect(groupBy: StatsGroup | null, bucket: Bucket): string {
  const size = BUCKET_US[bucket];
  const number = `CASE WHEN created_at_us >= 0 THEN created_at_us / ${size} ELSE (created_at_us + 1) / ${size} - 1 END`;
  return `${number}, ${groupBy ?? "NULL"}, status, duration_ms, id`;
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

  /** One page of runs in list order; `next` is where the following page starts, null if none follows. */
  listRuns(query: RunQuery): Page<RunRow> {
    return this.page(query, SELECT_LIST, (sql, params) => this.db.query<RunRow, SQLQueryBindings[]>(sql).all(...params), (row) => row.id as number);
  }

  /** One page of what the stats endpoint aggregates (as arrays: a page may be tens of thousands of rows). */
  statsPage(query: RunQuery, groupBy: StatsGroup | null, bucket: Bucket): Page<StatsRow> {
    const select = statsSelect(groupBy, bucket);
    return this.page(query, select, (sql, params) => this.db.query<StatsRow, SQLQueryBindings[]>(sql).values(...params) as StatsRow[], (row) => row[4]);
  }

  /**
   * Reads one more row than asked to learn whether another page follows, and the last row's position, in one
   * read transaction so the position is of the row returned. Each call is complete in itself: no statement
   * stays open between pages, so a long export or stats scan never pins an old snapshot on this connection
   * (which would hide newer writes from every other request on it).
   */
  private page<Row>(query: RunQuery, select: string, fetch: (sql: string, params: SQLQueryBindings[]) => Row[], idOf: (row: Row) => number): Page<Row> {
    return this.read(() =>
      this.db.transaction(() => {
        let rows: Row[] = [];
        for (const { sql, params } of listRunsStatements({ ...query, limit: query.limit + 1 }, select)) {
          rows = rows.concat(fetch(sql, params));
          if (rows.length > query.limit) break;
        }
        if (rows.length <= query.limit) return { rows, next: null };
        rows.length = query.limit;
        const id = idOf(rows[rows.length - 1]!);
        const position = this.db.query<{ created_at_us: bigint | null }, [number]>(READ_STATEMENTS.positionById).safeIntegers(true).get(id)!;
        return { rows, next: { createdAtUs: position.created_at_us, id } };
      })(),
    );
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

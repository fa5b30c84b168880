import { Database } from "bun:sqlite";
import { closeSync, existsSync, fsyncSync, linkSync, openSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { BackupReply, BackupRequest } from "./backup-worker.ts";
import { storeWorkerModule } from "./writer-client.ts";

/**
 * Long-running upkeep: retention deletes, stale-run marking, giving free pages back, and online backups.
 * Deletes and updates run on the writer thread as small write ops (see RunWriter), so client writes
 * interleave with them; a backup only reads, on its own connection, and never takes the process lock.
 */

/** Rows one retention or stale-marking op touches: small enough that its transaction is a few milliseconds. */
export const MAINTENANCE_BATCH = 1_000;
/** Pages one reclaim op gives back to the file system (4 MiB at the default page size). */
export const RECLAIM_PAGES = 1_024;

/**
 * How the server says it marked a run: the first line of its error_summary. A PATCH that later sets the
 * status removes this line again (see STALE_NOTE_REVERT), leaving whatever the agent had written below it.
 */
export const STALE_NOTE_PREFIX = "Marked timeout by the server:";

export function staleNote(after: string): string {
  return `${STALE_NOTE_PREFIX} still running ${after} after start_time (TELEMETRY_STALE_RUN_AFTER)`;
}

/**
 * The statements, named so the query-plan test can check each uses an index. Rows inserted earlier in the
 * same group commit are already counted when these run (the writer flushes its tally before any other op).
 */
export const MAINTENANCE_STATEMENTS = {
  pruneBatch: `DELETE FROM agent_runs WHERE id IN (
    SELECT id FROM agent_runs WHERE created_at_us < ? ORDER BY created_at_us LIMIT ?)`,
  countCreatedBefore: "SELECT count(*) AS n FROM agent_runs WHERE created_at_us < ?",
  // The note goes above anything the agent already wrote, so marking a run never destroys its own summary.
  markStale: `UPDATE agent_runs SET status = 'timeout', updated_at = ?,
    error_summary = CASE WHEN error_summary IS NULL OR error_summary = '' THEN ? ELSE ? || char(10) || error_summary END
    WHERE id IN (SELECT id FROM agent_runs WHERE status = 'running' AND start_time_us < ? LIMIT ?)`,
} as const;

/** The SET clause a PATCH that changes the status adds when it does not set error_summary itself. */
export const STALE_NOTE_REVERT = `error_summary = CASE
    WHEN status = 'timeout' AND substr(error_summary, 1, ${STALE_NOTE_PREFIX.length}) = '${STALE_NOTE_PREFIX}'
    THEN nullif(substr(error_summary, instr(error_summary || char(10), char(10)) + 1), '')
    ELSE error_summary END`;

/** Deletes up to `limit` runs created before `beforeUs` (oldest first); returns how many. */
export function pruneBatch(db: Database, beforeUs: bigint, limit: number): number {
  return db.query<unknown, [bigint, number]>(MAINTENANCE_STATEMENTS.pruneBatch).run(beforeUs, limit).changes;
}

/** Marks up to `limit` runs still running that started before `startedBeforeUs` as timed out; returns how many. */
export function markStaleBatch(db: Database, startedBeforeUs: bigint, note: string, updatedAt: string, limit: number): number {
  return db
    .query<unknown, [string, string, string, bigint, number]>(MAINTENANCE_STATEMENTS.markStale)
    .run(updatedAt, note, note, startedBeforeUs, limit).changes;
}

export type AutoVacuum = "none" | "full" | "incremental";

export interface SpaceReport {
  autoVacuum: AutoVacuum;
  pageSize: number;
  /** Pages inside the file that hold nothing and are reused by later writes. */
  freePages: number;
  /** Pages this call gave back to the file system (only with auto_vacuum=INCREMENTAL). */
  freedPages: number;
}

const AUTO_VACUUM: readonly AutoVacuum[] = ["none", "full", "incremental"];

function pragmaNumber(db: Database, name: string): number {
  return Object.values(db.query<Record<string, number>, []>(`PRAGMA ${name}`).get()!)[0]!;
}

/** Gives up to `maxPages` free pages back when the file allows it (auto_vacuum=INCREMENTAL); otherwise only reports. */
export function reclaimFreePages(db: Database, maxPages: number): SpaceReport {
  const autoVacuum = AUTO_VACUUM[pragmaNumber(db, "auto_vacuum")] ?? "none";
  const before = pragmaNumber(db, "freelist_count");
  if (autoVacuum === "incremental" && before > 0) db.run(`PRAGMA incremental_vacuum(${Math.trunc(maxPages)})`);
  const freePages = pragmaNumber(db, "freelist_count");
  return { autoVacuum, pageSize: pragmaNumber(db, "page_size"), freePages, freedPages: before - freePages };
}

/** A read-only connection of our own (never the server's), for the backup and prune commands. */
function openReader(path: string, busyTimeoutMs: number): Database {
  if (!existsSync(path)) throw new MaintenanceError("missing", `no database at ${path}`);
  const db = new Database(path, { readonly: true, strict: true });
  db.run(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  return db;
}

/** How many runs a prune with this cutoff would delete (runs whose created_at could never be read are kept). */
export function countRunsCreatedBefore(path: string, beforeUs: bigint, busyTimeoutMs: number): number {
  const db = openReader(path, busyTimeoutMs);
  try {
    return db.query<{ n: number }, [bigint]>(MAINTENANCE_STATEMENTS.countCreatedBefore).get(beforeUs)!.n;
  } catch (error) {
    if (String(error).includes("no such")) throw new MaintenanceError("missing", `${path} is not a telemetry database this version has opened yet (start the server on it once)`);
    throw error;
  } finally {
    db.close();
  }
}

export class MaintenanceError extends Error {
  override name = "MaintenanceError";
  constructor(
    /** `exists` / `missing`: the caller asked for something impossible (exit 2); `integrity`: the copy is bad. */
    readonly kind: "exists" | "missing" | "integrity",
    message: string,
  ) {
    super(message);
  }
}

export interface BackupResult {
  path: string;
  runs: number;
  bytes: number;
}

/**
 * A consistent copy of the database at `out` while the server keeps writing. `VACUUM INTO` runs inside one
 * read transaction, so under WAL it copies one committed snapshot and never blocks the writer (in
 * rollback-journal modes it holds a shared lock for its duration, so writes wait). The copy is written
 * beside `out`, checked with integrity_check, fsynced, and only then linked into place, so `out` is never
 * a half-written file and is never overwritten. The copy has auto_vacuum=INCREMENTAL, so a database restored
 * from a backup gives space back after retention deletes.
 */
export function backupDatabase(source: string, out: string, busyTimeoutMs: number): BackupResult {
  if (existsSync(out)) throw new MaintenanceError("exists", `${out} already exists; choose a new file name`);
  const partial = `${out}.partial-${process.pid}`;
  rmSync(partial, { force: true });
  try {
    const db = openReader(source, busyTimeoutMs);
    try {
      // Read by VACUUM INTO for the copy only: the source file keeps its own setting (and is never written).
      if (pragmaNumber(db, "auto_vacuum") === 0) db.run("PRAGMA auto_vacuum = INCREMENTAL");
      db.query("VACUUM INTO ?").run(partial);
    } finally {
      db.close();
    }
    const runs = checkCopy(partial);
    syncFile(partial);
    try {
      linkSync(partial, out); // fails if `out` appeared meanwhile: never overwrite
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new MaintenanceError("exists", `${out} already exists; choose a new file name`);
      throw error;
    }
    syncFile(dirname(out));
    return { path: out, runs, bytes: statSync(out).size };
  } finally {
    rmSync(partial, { force: true });
  }
}

/** integrity_check on the copy, then its run count; a copy that is not ok is an error naming the first problem. */
function checkCopy(path: string): number {
  const copy = new Database(path, { readonly: true, strict: true });
  try {
    const problems = copy.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check);
    if (problems.length !== 1 || problems[0] !== "ok") {
      throw new MaintenanceError("integrity", `integrity_check failed on the copy: ${problems.slice(0, 3).join("; ")}`);
    }
    return copy.query<{ n: number }, []>("SELECT count(*) AS n FROM agent_runs").get()!.n;
  } finally {
    copy.close();
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * backupDatabase on a thread of its own, for the server's scheduled backups. `signal` aborts it (the server
 * is stopping): the caller stops waiting and the partial file, which never has the final name, is removed.
 * A VACUUM INTO already running cannot be interrupted by terminating its thread; it finishes in the
 * background, and its read snapshot can delay the final WAL checkpoint on shutdown by up to the busy timeout.
 */
export function backupInWorker(source: string, out: string, busyTimeoutMs: number, signal: AbortSignal): Promise<BackupResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(storeWorkerModule("backup-worker.ts"));
    const finish = () => {
      signal.removeEventListener("abort", abort);
      worker.terminate();
    };
    const abort = () => {
      finish();
      rmSync(`${out}.partial-${process.pid}`, { force: true });
      reject(new Error("backup cancelled: the server is stopping"));
    };
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort);
    worker.onmessage = (event: MessageEvent<BackupReply>) => {
      finish();
      const reply = event.data;
      if (reply.ok) resolve({ path: out, runs: reply.runs, bytes: reply.bytes });
      else reject(new Error(reply.message));
    };
    worker.onerror = (event) => {
      finish();
      reject(new Error(`backup thread stopped: ${event.message}`));
    };
    worker.postMessage({ source, out, busyTimeoutMs } satisfies BackupRequest);
  });
}

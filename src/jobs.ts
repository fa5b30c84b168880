import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { basename, extname, join } from "node:path";
import type { Config } from "./config.ts";
import type { Duration } from "./domain/durations.ts";
import { formatMicrosUtc, parseZonedTimestamp } from "./domain/timestamps.ts";
import type { Logger } from "./logger.ts";
import { backupInWorker, MAINTENANCE_BATCH, RECLAIM_PAGES, staleNote, type BackupResult, type SpaceReport } from "./store/maintenance.ts";
import type { RunStore } from "./store/run-store.ts";

/** Epoch microseconds now. Injected, so tests run the jobs on a clock they control. */
export type Clock = () => bigint;
export const systemClock: Clock = () => BigInt(Date.now()) * 1000n;

/** What the jobs need of the store: every change goes through the writer thread as ordinary write ops. */
type Writes = Pick<RunStore, "write">;

const HOUR_US = 3_600_000_000n;
/** First run of every job, after start-up has settled. */
const FIRST_RUN_MS = 10_000;
const RETENTION_EVERY_MS = 3_600_000;
const STALE_EVERY_MS = 60_000;
/** How often the backup job looks whether a backup is due (so a restart never skips or doubles one). */
const BACKUP_CHECK_EVERY_MS = 600_000;

/** How a maintenance loop shares the writer: `stopped` is checked between ops. */
export interface Pace {
  stopped?: () => boolean;
  /**
   * After each op, wait as long as it took (at most 250 ms) before the next: the server's jobs use at most
   * about half of the writer's time, and client writes arriving meanwhile commit in groups of their own.
   * The prune command, alone with the database, does not rest.
   */
  rest?: boolean;
}

const MAX_REST_MS = 250;

/** One op; then, when `pace.rest` is set, a rest as long as the op took. */
async function step<T>(pace: Pace, write: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await write();
  if (pace.rest) await Bun.sleep(Math.min(performance.now() - started, MAX_REST_MS));
  return result;
}

export interface PruneReport {
  createdBeforeUs: bigint;
  deleted: number;
  /** After giving free pages back; null when stopped before that step. */
  space: SpaceReport | null;
}

/**
 * Deletes every run created before `createdBeforeUs`, one small op at a time (each waits for its commit, so
 * client writes queued meanwhile go first), then gives the freed pages back a few MiB per op where the file
 * allows it.
 */
export async function pruneRuns(store: Writes, createdBeforeUs: bigint, pace: Pace = {}): Promise<PruneReport> {
  let deleted = 0;
  for (;;) {
    if (pace.stopped?.()) return { createdBeforeUs, deleted, space: null };
    const batch = await step(pace, () => store.write({ kind: "prune", createdBeforeUs }));
    deleted += batch.deleted;
    if (batch.deleted < MAINTENANCE_BATCH) break;
  }
  let space = await step(pace, () => store.write({ kind: "reclaim", maxPages: RECLAIM_PAGES }));
  let freedPages = space.freedPages;
  while (space.freedPages > 0 && space.freePages > 0 && !pace.stopped?.()) {
    space = await step(pace, () => store.write({ kind: "reclaim", maxPages: RECLAIM_PAGES }));
    freedPages += space.freedPages;
  }
  return { createdBeforeUs, deleted, space: { ...space, freedPages } };
}

/** Marks every run still `running` that started before now - `after` as `timeout`, in small ops; returns how many. */
export async function markStaleRuns(store: Writes, after: Duration, now: bigint, pace: Pace = {}): Promise<number> {
  const op = { kind: "markStale", startedBeforeUs: now - after.micros, note: staleNote(after.text), updatedAt: formatMicrosUtc(now) } as const;
  let marked = 0;
  for (;;) {
    if (pace.stopped?.()) return marked;
    const batch = await step(pace, () => store.write(op));
    marked += batch.marked;
    if (batch.marked < MAINTENANCE_BATCH) return marked;
  }
}

/** One job's work; calls never overlap (a timer tick and a test's tick wait for each other). */
class Job<Result> {
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly everyMs: number,
    private readonly work: () => Promise<Result>,
  ) {}

  tick(): Promise<Result> {
    const next = this.last.then(() => this.work());
    this.last = next.catch(() => {});
    return next;
  }

  /** Settles once every tick asked for so far has finished. */
  idle(): Promise<unknown> {
    return this.last;
  }
}

export interface BackupTick {
  /** The backup written by this tick, or null when none was due. */
  written: BackupResult | null;
  /** Older backups deleted to keep TELEMETRY_BACKUP_KEEP. */
  removed: string[];
}

/** `<db name>-20260105T184027Z.sqlite`: sorts by time, and the time is read back to decide whether one is due. */
const STAMP_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function stampOf(micros: bigint): string {
  return formatMicrosUtc(micros).slice(0, 19).replaceAll("-", "").replaceAll(":", "") + "Z";
}

function stampMicros(stamp: string): bigint | null {
  const m = STAMP_RE.exec(stamp);
  if (!m) return null;
  const parsed = parseZonedTimestamp(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return parsed.ok ? parsed.micros : null;
}

/** The background jobs the configuration asks for; each can also be ticked by hand (tests, with a fake clock). */
export class Jobs {
  readonly retention: Job<PruneReport> | null = null;
  readonly stale: Job<number> | null = null;
  readonly backup: Job<BackupTick> | null = null;
  private stopped = false;
  private readonly cancel = new AbortController();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly config: Config,
    private readonly store: Writes,
    private readonly logger: Logger,
    private readonly now: Clock,
  ) {
    const pace: Pace = { stopped: () => this.stopped, rest: true };
    const { retention, staleRunAfter, backupDir } = config;
    if (retention) {
      this.retention = new Job("retention", RETENTION_EVERY_MS, async () => {
        const report = await pruneRuns(store, this.now() - retention.micros, pace);
        if (report.deleted > 0 || (report.space?.freedPages ?? 0) > 0) {
          logger.info("retention: deleted old runs", {
            deleted: report.deleted,
            created_before: formatMicrosUtc(report.createdBeforeUs),
            freed_bytes: (report.space?.freedPages ?? 0) * (report.space?.pageSize ?? 0),
          });
        }
        return report;
      });
    }
    if (staleRunAfter) {
      this.stale = new Job("stale-runs", STALE_EVERY_MS, async () => {
        const marked = await markStaleRuns(store, staleRunAfter, this.now(), pace);
        if (marked > 0) logger.info("stale runs marked timeout", { marked, after: staleRunAfter.text });
        return marked;
      });
    }
    if (backupDir) {
      this.backup = new Job("backup", BACKUP_CHECK_EVERY_MS, () => this.backupTick(backupDir));
    }
  }

  get any(): boolean {
    return this.all().length > 0;
  }

  /** Runs each job on its timer, the first time shortly after start-up. */
  start(): void {
    for (const job of this.all()) this.schedule(job, FIRST_RUN_MS);
  }

  private all(): Job<unknown>[] {
    return [this.retention, this.stale, this.backup].filter((job) => job !== null);
  }

  /** No new runs; an op in flight finishes (a few ms), a backup in flight is abandoned. Call before closing the store. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.cancel.abort();
    await Promise.all([...this.running, ...this.all().map((job) => job.idle())]);
  }

  private schedule(job: Job<unknown>, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const run = job.tick().then(
        () => {},
        (error) => {
          if (!this.stopped) this.logger.error("background job failed", { job: job.name, error: error instanceof Error ? error.message : String(error) });
        },
      );
      this.running.add(run);
      void run.finally(() => {
        this.running.delete(run);
        this.schedule(job, job.everyMs);
      });
    }, delayMs);
    timer.unref?.();
    this.timers.add(timer);
  }

  /** Takes a backup when the newest one is at least TELEMETRY_BACKUP_INTERVAL_HOURS old, then keeps the newest few. */
  private async backupTick(dir: string): Promise<BackupTick> {
    const dbPath = this.config.dbPath;
    const stem = basename(dbPath, extname(dbPath));
    mkdirSync(dir, { recursive: true }); // made at start-up; again in case it was removed since
    const names = () =>
      readdirSync(dir)
        .filter((name) => name.startsWith(`${stem}-`) && name.endsWith(".sqlite") && stampMicros(name.slice(stem.length + 1, -7)) !== null)
        .sort();
    // A backup cut short (the server stopped or crashed mid-copy) leaves a partial file that no one will finish;
    // one whose writer (the pid in its name) is still alive, such as a `backup` command running now, is left alone.
    for (const name of readdirSync(dir)) {
      const pid = name.startsWith(`${stem}-`) ? /\.sqlite\.partial-(\d+)$/.exec(name)?.[1] : undefined;
      if (pid !== undefined && !processAlive(Number(pid))) rmSync(join(dir, name), { force: true });
    }

    const now = this.now();
    const newest = names().at(-1);
    const newestUs = newest === undefined ? null : stampMicros(newest.slice(stem.length + 1, -7));
    let written: BackupResult | null = null;
    if (newestUs === null || now - newestUs >= BigInt(this.config.backupIntervalHours) * HOUR_US) {
      const out = join(dir, `${stem}-${stampOf(now)}.sqlite`);
      written = await backupInWorker(dbPath, out, this.config.busyTimeoutMs, this.cancel.signal);
      this.logger.info("backup written", { path: written.path, runs: written.runs, bytes: written.bytes });
    }
    const all = names();
    const removed = all.slice(0, Math.max(0, all.length - this.config.backupKeep)).map((name) => join(dir, name));
    for (const path of removed) rmSync(path, { force: true });
    if (removed.length > 0) this.logger.info("old backups removed", { removed });
    return { written, removed };
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false; // our own earlier attempt, cut short
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The jobs `config` turns on (not yet scheduled: call start()); null when none is. */
export function createJobs(config: Config, store: Writes, logger: Logger, now: Clock = systemClock): Jobs | null {
  const jobs = new Jobs(config, store, logger, now);
  return jobs.any ? jobs : null;
}

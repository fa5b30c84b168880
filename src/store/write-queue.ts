import type { Database } from "bun:sqlite";
import { classifyStoreError, type StoreFailure } from "./errors.ts";

export interface WriteHooks<Op = unknown> {
  /** Runs inside the group's transaction before each op, outside the op's savepoint (its work survives the op failing). */
  beforeOp?(op: Op): void;
  /** Told how many writes each group held, after it is settled (for the group-size histogram). */
  afterGroup?(size: number): void;
  beforeBegin?(): void;
  beforeCommit?(): void;
  onRollback?(): void;
}

type Outcome<Result> = { ok: true; value: Result } | { ok: false; error: unknown };

interface Pending<Op, Result> {
  op: Op;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/** Bounds how long the first request of a group waits behind the others. */
const MAX_GROUP = 512;

/**
 * Group commit: writes that arrive while the event loop is busy share one transaction and one fsync.
 * If any op fails, the group is redone with each op in its own savepoint, so one failing request never
 * fails its neighbours; every promise settles only after COMMIT has returned: a resolved write is on disk.
 */
export class WriteQueue<Op, Result> {
  private pending: Pending<Op, Result>[] = [];
  private readonly statements;
  private scheduled = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  /**
   * `beforeBegin` runs before each group's transaction and may refuse the group by throwing; `beforeCommit`
   * runs once per group inside its transaction (after every op), `onRollback` when the group's transaction
   * is abandoned: together they let the store check its file and keep per-group state such as counter tallies.
   */
  constructor(
    private readonly db: Database,
    private readonly apply: (op: Op) => Result,
    private readonly hooks: WriteHooks<Op> = {},
  ) {
    // Compiled once: these run several times per group, and parsing them each time showed in profiles.
    // (db.query, not db.prepare: the connection finalizes its cached statements when it closes; an unfinalized
    // prepared statement left close() a "zombie" holding the file locked until garbage collection.)
    this.statements = {
      begin: db.query("BEGIN IMMEDIATE"),
      commit: db.query("COMMIT"),
      savepoint: db.query("SAVEPOINT op"),
      release: db.query("RELEASE op"),
      rollbackTo: db.query("ROLLBACK TO op"),
    };
  }

  submit(op: Op): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far has been committed (or failed). */
  drain(): Promise<void> {
    return this.pending.length === 0 && !this.scheduled ? Promise.resolve() : this.idle;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.idle = new Promise((resolve) => (this.markIdle = resolve));
    setImmediate(() => this.flush());
  }

  private flush(): void {
    const group = this.pending.splice(0, MAX_GROUP);
    const outcomes = this.commit(group);
    group.forEach((entry, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) entry.resolve(outcome.value);
      else entry.reject(outcome.error);
    });
    this.hooks.afterGroup?.(group.length);
    this.scheduled = false;
    if (this.pending.length > 0) this.schedule();
    else this.markIdle();
  }

  private commit(group: Pending<Op, Result>[]): Outcome<Result>[] {
    // Fast path: the whole group in one transaction without a savepoint per op. Requests are validated before
    // they get here, so an op almost never fails; when one does, the group is redone op by op in savepoints.
    const fast = this.transaction(() =>
      group.map((entry): Outcome<Result> => {
        this.hooks.beforeOp?.(entry.op);
        return { ok: true, value: this.apply(entry.op) };
      }),
    );
    if (fast.ok) return fast.value;
    if (!fast.opFailed) return group.map(() => ({ ok: false, error: fast.error }));
    const careful = this.transaction(() => group.map((entry) => this.isolated(entry.op)));
    return careful.ok ? careful.value : group.map(() => ({ ok: false, error: careful.error }));
  }

  private transaction<T>(body: () => T): { ok: true; value: T } | { ok: false; error: StoreFailure; opFailed: boolean } {
    try {
      this.hooks.beforeBegin?.();
      this.statements.begin.run();
    } catch (error) {
      return { ok: false, error: classifyStoreError(error), opFailed: false };
    }
    let value: T;
    try {
      value = body();
    } catch (error) {
      this.rollback();
      return { ok: false, error: classifyStoreError(error), opFailed: true };
    }
    try {
      this.hooks.beforeCommit?.();
      this.statements.commit.run();
      return { ok: true, value };
    } catch (error) {
      this.rollback();
      return { ok: false, error: classifyStoreError(error), opFailed: false };
    }
  }

  /** One op inside its own savepoint: its failure undoes only its own changes. */
  private isolated(op: Op): Outcome<Result> {
    this.hooks.beforeOp?.(op);
    this.statements.savepoint.run();
    try {
      const value = this.apply(op);
      this.statements.release.run();
      return { ok: true, value };
    } catch (error) {
      this.statements.rollbackTo.run();
      this.statements.release.run();
      return { ok: false, error: classifyStoreError(error) };
    }
  }

  private rollback(): void {
    try {
      if (this.db.inTransaction) this.db.run("ROLLBACK");
    } catch {
      // SQLite has already rolled back (e.g. after an I/O error); the caller reports the original failure.
    }
    this.hooks.onRollback?.();
  }
}

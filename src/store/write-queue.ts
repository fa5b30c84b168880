import type { Database } from "bun:sqlite";
import { classifyStoreError } from "./errors.ts";

interface Pending<Op, Result> {
  op: Op;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/** Bounds how long the first request of a group waits behind the others. */
const MAX_GROUP = 512;

/**
 * Group commit: writes that arrive while the event loop is busy share one transaction and one fsync.
 * Each op runs inside its own savepoint, so one failing request never fails its neighbours, and every
 * promise settles only after COMMIT has returned: a resolved write is on disk.
 */
export class WriteQueue<Op, Result> {
  private pending: Pending<Op, Result>[] = [];
  private scheduled = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  /**
   * `beforeCommit` runs once per group inside its transaction (after every op), `onRollback` when the group's
   * transaction is abandoned: together they let the store keep per-group state such as counter tallies.
   */
  constructor(
    private readonly db: Database,
    private readonly apply: (op: Op) => Result,
    private readonly hooks: { beforeCommit(): void; onRollback(): void } = { beforeCommit() {}, onRollback() {} },
  ) {}

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
    this.scheduled = false;
    if (this.pending.length > 0) this.schedule();
    else this.markIdle();
  }

  private commit(group: Pending<Op, Result>[]): ({ ok: true; value: Result } | { ok: false; error: unknown })[] {
    try {
      this.db.run("BEGIN IMMEDIATE");
    } catch (error) {
      const failure = classifyStoreError(error);
      return group.map(() => ({ ok: false, error: failure }));
    }
    const outcomes = group.map((entry) => {
      this.db.run("SAVEPOINT op");
      try {
        const value = this.apply(entry.op);
        this.db.run("RELEASE op");
        return { ok: true as const, value };
      } catch (error) {
        this.db.run("ROLLBACK TO op");
        this.db.run("RELEASE op");
        return { ok: false as const, error: classifyStoreError(error) };
      }
    });
    try {
      this.hooks.beforeCommit();
      this.db.run("COMMIT");
      return outcomes;
    } catch (error) {
      const failure = classifyStoreError(error);
      if (this.db.inTransaction) this.db.run("ROLLBACK");
      this.hooks.onRollback();
      return group.map(() => ({ ok: false, error: failure }));
    }
  }
}

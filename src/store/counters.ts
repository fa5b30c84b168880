import type { Database } from "bun:sqlite";

/** Width of a recent-runs bucket: /metrics counts whole minutes from the table, the one partial minute exactly. */
export const MINUTE_US = 60_000_000n;

type Row = "NEW" | "OLD";
type Value = string | number | bigint | null;

/** One counter table: its key columns, how each is computed from an agent_runs row, and which columns feed it. */
interface Counter {
  table: string;
  keys: readonly { column: string; type: "TEXT" | "INTEGER"; of: (row: Row) => string; fromRun: (get: (column: string) => Value) => Value }[];
  sources: readonly string[];
}

const column = (name: string) => ({
  column: name,
  type: "TEXT" as const,
  of: (row: Row) => `${row}.${name}`,
  fromRun: (get: (c: string) => Value) => get(name),
});
const minute = {
  column: "minute",
  type: "INTEGER" as const,
  of: (row: Row) => `${row}.created_at_us / ${MINUTE_US}`,
  fromRun: (get: (c: string) => Value) => {
    const us = get("created_at_us");
    return typeof us === "bigint" ? us / MINUTE_US : us === null ? null : BigInt(us) / MINUTE_US;
  },
};

/**
 * Small tables that answer /metrics and /api/v1/metadata without touching agent_runs. Our own inserts are
 * counted by InsertTally inside the same transaction (an insert trigger cost 20 µs per run, more than the
 * row itself); deletes and key changes by anyone (PATCH of a status, retention, a sqlite3 shell) are counted
 * by triggers; rows another process inserts are found and recounted on the next start (see migrate).
 */
export const COUNTERS: readonly Counter[] = [
  { table: "run_counts_by_agent", keys: [column("agent_name")], sources: ["agent_name"] },
  { table: "run_counts_by_job_type", keys: [column("job_type")], sources: ["job_type"] },
  { table: "run_counts_by_minute", keys: [minute], sources: ["created_at_us"] },
  { table: "run_counts_by_agent_status", keys: [column("agent_name"), column("status")], sources: ["agent_name", "status"] },
];

/** Table and trigger statements for one counter (idempotent). */
export function counterSchema(counter: Counter): string[] {
  const { table, keys, sources } = counter;
  const names = keys.map((k) => k.column);
  const match = (row: Row) => keys.map((k) => `${k.column} = ${k.of(row)}`).join(" AND ");
  const add = `INSERT INTO ${table} (${names.join(", ")}, runs) SELECT ${keys.map((k) => k.of("NEW")).join(", ")}, 1
      WHERE ${keys.map((k) => `${k.of("NEW")} IS NOT NULL`).join(" AND ")}
      ON CONFLICT(${names.join(", ")}) DO UPDATE SET runs = runs + 1;`;
  const remove = `UPDATE ${table} SET runs = runs - 1 WHERE ${match("OLD")};
    DELETE FROM ${table} WHERE ${match("OLD")} AND runs <= 0;`;
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (${keys.map((k) => `${k.column} ${k.type} NOT NULL`).join(", ")}, runs INTEGER NOT NULL,
      PRIMARY KEY (${names.join(", ")})) WITHOUT ROWID`,
    `CREATE TRIGGER IF NOT EXISTS ${table}_delete AFTER DELETE ON agent_runs BEGIN ${remove} END`,
    `CREATE TRIGGER IF NOT EXISTS ${table}_update AFTER UPDATE OF ${sources.join(", ")} ON agent_runs
      WHEN ${sources.map((s) => `OLD.${s} IS NOT NEW.${s}`).join(" OR ")} BEGIN ${remove} ${add} END`,
  ];
}

/** Recomputes one counter from agent_runs in a single pass; used when its table is created or rows arrived unseen. */
export function rebuildCounter(db: Database, counter: Counter): void {
  const exprs = counter.keys.map((k) => k.of("NEW").replaceAll("NEW.", ""));
  db.run(`DELETE FROM ${counter.table}`);
  db.run(
    `INSERT INTO ${counter.table} SELECT ${exprs.join(", ")}, count(*) FROM agent_runs
     WHERE ${exprs.map((e) => `${e} IS NOT NULL`).join(" AND ")} GROUP BY ${exprs.join(", ")}`,
  );
}

export function rebuildCounters(db: Database): void {
  for (const counter of COUNTERS) rebuildCounter(db, counter);
}

/** Counts of the runs inserted by one group commit, written with one upsert per distinct key before COMMIT. */
export class InsertTally {
  private readonly counts = COUNTERS.map(() => new Map<string, { key: Value[]; runs: number }>());

  /** `get` reads a column of the inserted row as stored (defaults applied). */
  add(get: (column: string) => Value): void {
    COUNTERS.forEach((counter, i) => {
      const key = counter.keys.map((k) => k.fromRun(get));
      if (key.some((v) => v === null)) return;
      const id = key.map(String).join("\u0000");
      const entry = this.counts[i]!.get(id);
      if (entry) entry.runs++;
      else this.counts[i]!.set(id, { key, runs: 1 });
    });
  }

  /** Writes the counts inside the caller's transaction and starts over. */
  flush(db: Database): void {
    COUNTERS.forEach((counter, i) => {
      const counts = this.counts[i]!;
      if (counts.size === 0) return;
      const names = counter.keys.map((k) => k.column);
      const upsert = db.query<unknown, Value[]>(
        `INSERT INTO ${counter.table} (${names.join(", ")}, runs) VALUES (${names.map(() => "?").join(", ")}, ?)
         ON CONFLICT(${names.join(", ")}) DO UPDATE SET runs = runs + excluded.runs`,
      );
      for (const { key, runs } of counts.values()) upsert.run(...key, runs);
      counts.clear();
    });
  }

  clear(): void {
    for (const counts of this.counts) counts.clear();
  }
}

import type { Database } from "bun:sqlite";

/** Width of a recent-runs bucket: /metrics counts whole minutes from the table, the one partial minute exactly. */
export const MINUTE_US = 60_000_000n;

/**
 * Small tables that answer /metrics and /api/v1/metadata without touching agent_runs. Our own inserts are
 * counted by InsertTally inside the same transaction (an insert trigger cost 20 µs per run, more than the
 * row itself); deletes and key changes by anyone (retention, a sqlite3 shell) are counted by triggers; rows
 * another process inserts are found and recounted on the next start (see migrate).
 */
export const COUNTER_SCHEMA: readonly string[] = [
  "CREATE TABLE IF NOT EXISTS run_counts_by_agent (agent_name TEXT PRIMARY KEY, runs INTEGER NOT NULL) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS run_counts_by_job_type (job_type TEXT PRIMARY KEY, runs INTEGER NOT NULL) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS run_counts_by_minute (minute INTEGER PRIMARY KEY, runs INTEGER NOT NULL)",
  ...counterTriggers("agent", "agent_name", "NEW.agent_name", "OLD.agent_name"),
  ...counterTriggers("job_type", "job_type", "NEW.job_type", "OLD.job_type"),
  ...counterTriggers("minute", "minute", `NEW.created_at_us / ${MINUTE_US}`, `OLD.created_at_us / ${MINUTE_US}`, "created_at_us"),
];

/** Delete and update triggers adding -1 / +1 to `run_counts_by_<table>` for the row's key (NULL keys are not counted). */
function counterTriggers(table: string, key: string, newKey: string, oldKey: string, sourceColumn = key): string[] {
  const counts = `run_counts_by_${table}`;
  const add = `INSERT INTO ${counts} (${key}, runs) SELECT ${newKey}, 1 WHERE ${newKey} IS NOT NULL
      ON CONFLICT(${key}) DO UPDATE SET runs = runs + 1;`;
  const remove = `UPDATE ${counts} SET runs = runs - 1 WHERE ${key} = ${oldKey};
    DELETE FROM ${counts} WHERE ${key} = ${oldKey} AND runs <= 0;`;
  return [
    `CREATE TRIGGER IF NOT EXISTS ${counts}_delete AFTER DELETE ON agent_runs BEGIN ${remove} END`,
    `CREATE TRIGGER IF NOT EXISTS ${counts}_update AFTER UPDATE OF ${sourceColumn} ON agent_runs
      WHEN OLD.${sourceColumn} IS NOT NEW.${sourceColumn} BEGIN ${remove} ${add} END`,
  ];
}

/** Counts of the runs inserted by one group commit, written with one upsert per distinct key before COMMIT. */
export class InsertTally {
  private readonly agents = new Map<string, number>();
  private readonly jobTypes = new Map<string, number>();
  private readonly minutes = new Map<bigint, number>();

  add(agentName: string, jobType: string, createdAtUs: bigint): void {
    this.agents.set(agentName, (this.agents.get(agentName) ?? 0) + 1);
    this.jobTypes.set(jobType, (this.jobTypes.get(jobType) ?? 0) + 1);
    const minute = createdAtUs / MINUTE_US;
    this.minutes.set(minute, (this.minutes.get(minute) ?? 0) + 1);
  }

  /** Writes the counts inside the caller's transaction and starts over. */
  flush(db: Database): void {
    const upsert = (table: string, key: string) =>
      db.query(`INSERT INTO ${table} (${key}, runs) VALUES (?, ?) ON CONFLICT(${key}) DO UPDATE SET runs = runs + excluded.runs`);
    const write = <K extends string | bigint>(counts: Map<K, number>, table: string, key: string) => {
      if (counts.size === 0) return;
      const statement = upsert(table, key);
      for (const [value, runs] of counts) statement.run(value, runs);
      counts.clear();
    };
    write(this.agents, "run_counts_by_agent", "agent_name");
    write(this.jobTypes, "run_counts_by_job_type", "job_type");
    write(this.minutes, "run_counts_by_minute", "minute");
  }

  clear(): void {
    this.agents.clear();
    this.jobTypes.clear();
    this.minutes.clear();
  }
}

/** Recomputes every counter from agent_runs (one pass each); used when the tables are created. */
export function rebuildCounters(db: Database): void {
  db.run("DELETE FROM run_counts_by_agent");
  db.run("DELETE FROM run_counts_by_job_type");
  db.run("DELETE FROM run_counts_by_minute");
  db.run("INSERT INTO run_counts_by_agent SELECT agent_name, count(*) FROM agent_runs GROUP BY agent_name");
  db.run("INSERT INTO run_counts_by_job_type SELECT job_type, count(*) FROM agent_runs GROUP BY job_type");
  db.run(
    `INSERT INTO run_counts_by_minute SELECT created_at_us / ${MINUTE_US}, count(*) FROM agent_runs
     WHERE created_at_us IS NOT NULL GROUP BY created_at_us / ${MINUTE_US}`,
  );
}

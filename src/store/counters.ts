import type { Database } from "bun:sqlite";

/** Width of a recent-runs bucket: /metrics counts whole minutes from the table, the one partial minute exactly. */
export const MINUTE_US = 60_000_000n;

/**
 * Small tables that answer /metrics and /api/v1/metadata without touching agent_runs. Triggers keep them
 * exact inside the same transaction as every insert, delete or update, whichever process writes, so a
 * sqlite3 shell, a retention job or a future code path cannot make them drift.
 */
export const COUNTER_SCHEMA: readonly string[] = [
  "CREATE TABLE IF NOT EXISTS run_counts_by_agent (agent_name TEXT PRIMARY KEY, runs INTEGER NOT NULL) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS run_counts_by_job_type (job_type TEXT PRIMARY KEY, runs INTEGER NOT NULL) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS run_counts_by_minute (minute INTEGER PRIMARY KEY, runs INTEGER NOT NULL)",
  ...counterTriggers("agent", "agent_name", "NEW.agent_name", "OLD.agent_name"),
  ...counterTriggers("job_type", "job_type", "NEW.job_type", "OLD.job_type"),
  ...counterTriggers("minute", "minute", `NEW.created_at_us / ${MINUTE_US}`, `OLD.created_at_us / ${MINUTE_US}`, "created_at_us"),
];

/** Insert, delete and update triggers adding +1 / -1 to `run_counts_by_<table>` for the row's key (NULL keys are not counted). */
function counterTriggers(table: string, key: string, newKey: string, oldKey: string, sourceColumn = key): string[] {
  const counts = `run_counts_by_${table}`;
  const add = `INSERT INTO ${counts} (${key}, runs) SELECT ${newKey}, 1 WHERE ${newKey} IS NOT NULL
      ON CONFLICT(${key}) DO UPDATE SET runs = runs + 1;`;
  const remove = `UPDATE ${counts} SET runs = runs - 1 WHERE ${key} = ${oldKey};
    DELETE FROM ${counts} WHERE ${key} = ${oldKey} AND runs <= 0;`;
  return [
    `CREATE TRIGGER IF NOT EXISTS ${counts}_insert AFTER INSERT ON agent_runs BEGIN ${add} END`,
    `CREATE TRIGGER IF NOT EXISTS ${counts}_delete AFTER DELETE ON agent_runs BEGIN ${remove} END`,
    `CREATE TRIGGER IF NOT EXISTS ${counts}_update AFTER UPDATE OF ${sourceColumn} ON agent_runs
      WHEN OLD.${sourceColumn} IS NOT NEW.${sourceColumn} BEGIN ${remove} ${add} END`,
  ];
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

/**
 * The agent_runs columns, declared once. DDL, migrations, INSERT and SELECT statements are all built
 * from this list, so adding a column is one line here. Order is the reference's table order, which is
 * also the key order of every RunRecord we return.
 */
export interface Column {
  name: string;
  /** Declaration used both by CREATE TABLE and by ALTER TABLE ADD COLUMN on old databases. */
  decl: string;
  /** What an INSERT writes when the client left the field out (the same value the DDL default names). */
  insertDefault: string | number | null;
  /** Stored for our own filtering and ordering, never returned to clients. */
  internal?: true;
}

const col = (name: string, type: "TEXT" | "INTEGER", constraints = "", insertDefault: string | number | null = null): Column => {
  const defaultClause = insertDefault === null ? "" : ` DEFAULT ${typeof insertDefault === "string" ? `'${insertDefault}'` : insertDefault}`;
  return { name, decl: `${type}${constraints ? ` ${constraints}` : ""}${defaultClause}`, insertDefault };
};

export const RUN_COLUMNS: readonly Column[] = [
  col("id", "INTEGER", "PRIMARY KEY AUTOINCREMENT"),
  col("event_id", "TEXT", "NOT NULL UNIQUE"),
  col("run_id", "TEXT", "NOT NULL"),
  col("schema_version", "INTEGER", "", 6),
  col("created_at", "TEXT", "NOT NULL DEFAULT (datetime('now'))"),
  col("updated_at", "TEXT", "DEFAULT (datetime('now'))"),
  col("start_time", "TEXT", "NOT NULL"),
  col("end_time", "TEXT"),
  col("agent_name", "TEXT", "NOT NULL"),
  col("agent_owner", "TEXT"),
  col("job_type", "TEXT", "NOT NULL"),
  col("status", "TEXT", "NOT NULL", "running"),
  col("product", "TEXT"),
  col("product_family", "TEXT"),
  col("platform", "TEXT"),
  col("subdomain", "TEXT"),
  col("website", "TEXT"),
  col("website_section", "TEXT"),
  col("item_name", "TEXT"),
  col("items_discovered", "INTEGER", "", 0),
  col("items_succeeded", "INTEGER", "", 0),
  col("items_failed", "INTEGER", "", 0),
  col("items_skipped", "INTEGER", "", 0),
  col("duration_ms", "INTEGER", "", 0),
  col("input_summary", "TEXT"),
  col("output_summary", "TEXT"),
  col("source_ref", "TEXT"),
  col("target_ref", "TEXT"),
  col("error_summary", "TEXT"),
  col("error_details", "TEXT"),
  col("git_repo", "TEXT"),
  col("git_branch", "TEXT"),
  col("git_commit_hash", "TEXT"),
  col("git_run_tag", "TEXT"),
  col("git_commit_source", "TEXT"),
  col("git_commit_author", "TEXT"),
  col("git_commit_timestamp", "TEXT"),
  col("host", "TEXT"),
  col("environment", "TEXT"),
  col("trigger_type", "TEXT"),
  col("metrics_json", "TEXT"),
  col("context_json", "TEXT"),
  col("api_posted", "INTEGER", "", 0),
  col("api_posted_at", "TEXT"),
  col("api_retry_count", "INTEGER", "", 0),
  col("insight_id", "TEXT"),
  col("parent_run_id", "TEXT"),
  // Epoch microseconds of created_at / start_time: the reference compared text, which is wrong across zones.
  { ...col("created_at_us", "INTEGER"), internal: true },
  { ...col("start_time_us", "INTEGER"), internal: true },
];

export const TABLE_CHECKS = [
  "CHECK (items_discovered >= 0)",
  "CHECK (items_succeeded >= 0)",
  "CHECK (items_failed >= 0)",
  "CHECK (items_skipped >= 0)",
  "CHECK (duration_ms >= 0)",
  "CHECK (api_retry_count >= 0)",
  "CHECK (status IN ('running', 'success', 'failure', 'partial', 'timeout', 'cancelled'))",
];

/** Columns a RunRecord shows, in order. */
export const PUBLIC_COLUMNS: readonly string[] = RUN_COLUMNS.filter((c) => !c.internal).map((c) => c.name);

/** Columns an INSERT may fill: everything but the rowid. */
export const INSERTABLE_COLUMNS: readonly Column[] = RUN_COLUMNS.filter((c) => c.name !== "id");

/** A stored run as SQLite hands it back, restricted to PUBLIC_COLUMNS. */
export type RunRow = Record<string, string | number | null>;

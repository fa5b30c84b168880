// Wire shapes of the Telemetry API 2.1.0, written out by hand so the client needs no runtime dependency
// (the server's TypeBox schemas stay on the server). Field names are the contract's.

export type RunStatus = "running" | "success" | "failure" | "partial" | "timeout" | "cancelled";
/** Aliases the server normalises: failed→failure, completed/succeeded→success. */
export type RunStatusInput = RunStatus | "failed" | "completed" | "succeeded";
export type CommitSource = "manual" | "llm" | "ci";
export type JsonObject = Record<string, unknown>;

/** Optional fields of a run (POST /api/v1/runs and batch items). Timestamps carry a zone. */
export interface RunFields {
  created_at?: string;
  end_time?: string;
  status?: RunStatusInput;
  agent_owner?: string;
  product?: string;
  product_family?: string;
  platform?: string;
  subdomain?: string;
  website?: string;
  website_section?: string;
  item_name?: string;
  items_discovered?: number;
  items_succeeded?: number;
  items_failed?: number;
  items_skipped?: number;
  duration_ms?: number;
  input_summary?: string;
  output_summary?: string;
  source_ref?: string;
  target_ref?: string;
  error_summary?: string;
  error_details?: string;
  git_repo?: string;
  git_branch?: string;
  git_commit_hash?: string;
  git_run_tag?: string;
  git_commit_source?: CommitSource;
  git_commit_author?: string;
  git_commit_timestamp?: string;
  host?: string;
  environment?: string;
  trigger_type?: string;
  metrics_json?: JsonObject | null;
  context_json?: JsonObject | null;
  api_posted?: boolean;
  api_posted_at?: string;
  api_retry_count?: number;
  insight_id?: string;
  parent_run_id?: string;
}

/** A complete TelemetryRun as the server takes it. */
export interface NewRun extends RunFields {
  event_id: string;
  run_id: string;
  agent_name: string;
  job_type: string;
  start_time: string;
}

/** What startRun needs: agent and job; event_id, run_id, start_time and host are filled in when left out. */
export type StartRunInput = RunFields & Pick<NewRun, "agent_name" | "job_type"> & Partial<Pick<NewRun, "event_id" | "run_id" | "start_time">>;

/** PATCH /api/v1/runs/{event_id}. */
export interface RunUpdate {
  status?: RunStatusInput;
  end_time?: string;
  duration_ms?: number;
  error_summary?: string;
  error_details?: string;
  output_summary?: string;
  items_succeeded?: number;
  items_failed?: number;
  items_skipped?: number;
  metrics_json?: JsonObject;
  context_json?: JsonObject;
  git_commit_source?: CommitSource;
  git_commit_author?: string;
  git_commit_timestamp?: string;
}

/** POST /api/v1/runs/{event_id}/associate-commit. */
export interface CommitAssociation {
  commit_hash: string;
  commit_source: CommitSource;
  commit_author?: string;
  commit_timestamp?: string;
}

/** A stored run as GET returns it (every column; absent values are null). */
export interface RunRecord extends Omit<NewRun, "status" | "metrics_json" | "context_json"> {
  id: number;
  status: RunStatus;
  created_at: string;
  updated_at: string | null;
  metrics_json: JsonObject | string | null;
  context_json: JsonObject | string | null;
  commit_url: string | null;
  repo_url: string | null;
  [field: string]: unknown;
}

export interface BatchResponse {
  inserted: number;
  duplicates: number;
  errors: unknown[];
  total: number;
}

/** GET /api/v1/runs filters; `status` may be repeated. */
export interface RunQuery {
  agent_name?: string;
  status?: RunStatusInput | RunStatusInput[];
  job_type?: string;
  created_before?: string;
  created_after?: string;
  start_time_from?: string;
  start_time_to?: string;
  parent_run_id?: string;
  run_id?: string;
  git_commit_hash?: string;
  environment?: string;
  host?: string;
  product?: string;
  website?: string;
  limit?: number;
  offset?: number;
}

import { Type, type Static } from "@sinclair/typebox";
import { COMMIT_SOURCES, CANONICAL_STATUSES, STATUS_ALIASES } from "../domain/statuses.ts";
import { STATS_BUCKETS, STATS_GROUPS } from "../domain/stats.ts";
import { Formats } from "./formats.ts";

/** Largest integer a JSON client can send without losing precision, and the ceiling of every counter. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/** Longest text field (characters); error_details, which carries tracebacks, may be longer. */
export const MAX_TEXT_LENGTH = 65_536;
export const MAX_DETAILS_LENGTH = 1_048_576;
/** Longest event_id: it must still fit in a URL under the default length limit once percent-encoded. */
export const MAX_EVENT_ID_LENGTH = 512;
/** Deepest nesting accepted inside metrics_json / context_json (deeper values could not even be serialised back). */
export const MAX_JSON_DEPTH = 64;

const Text = (description?: string, maxLength = MAX_TEXT_LENGTH) => Type.String({ maxLength, ...(description ? { description } : {}) });
const RequiredText = (description: string) => Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH, description });
const Counter = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_COUNTER, description });
const Timestamp = (description: string) =>
  Type.String({ minLength: 1, maxLength: 64, format: Formats.zonedDateTime, description: `${description} RFC 3339 date-time with a zone.`, examples: ["2026-01-05T18:40:27.000000+00:00"] });
const JsonObject = (description: string) =>
  Type.Record(Type.String(), Type.Unknown(), { description, "x-max-depth": MAX_JSON_DEPTH });
const Status = Type.String({
  format: Formats.runStatus,
  description: `One of ${CANONICAL_STATUSES.join(", ")}; aliases ${Object.keys(STATUS_ALIASES).join(", ")} are normalised.`,
  examples: ["running"],
});
const CommitSource = Type.Union(
  COMMIT_SOURCES.map((s) => Type.Literal(s)),
  { description: "Who made the commit: manual, llm or ci." },
);

/** Fields a client may send when creating a run. Unknown fields are ignored; optional fields sent as null count as absent. */
export const TelemetryRun = Type.Object({
  event_id: Type.String({
    minLength: 1,
    maxLength: MAX_EVENT_ID_LENGTH,
    format: Formats.eventId,
    description: "Idempotency key; a UUID is recommended. It appears in URLs, so it is at most 512 characters and not '.' or '..'.",
  }),
  run_id: RequiredText("The agent's own run identifier."),
  agent_name: RequiredText("Which agent ran."),
  job_type: RequiredText("What kind of job it was."),
  start_time: Timestamp("When the run started."),
  created_at: Type.Optional(Timestamp("Defaults to the server's UTC now.")),
  end_time: Type.Optional(Timestamp("When the run ended.")),
  status: Type.Optional(Status),
  agent_owner: Type.Optional(Text()),
  product: Type.Optional(Text()),
  product_family: Type.Optional(Text()),
  platform: Type.Optional(Text()),
  subdomain: Type.Optional(Text()),
  website: Type.Optional(Text()),
  website_section: Type.Optional(Text()),
  item_name: Type.Optional(Text()),
  items_discovered: Type.Optional(Counter("Items found.")),
  items_succeeded: Type.Optional(Counter("Items processed successfully.")),
  items_failed: Type.Optional(Counter("Items that failed.")),
  items_skipped: Type.Optional(Counter("Items skipped.")),
  duration_ms: Type.Optional(Counter("Run duration in milliseconds; null is stored as 0.")),
  input_summary: Type.Optional(Text()),
  output_summary: Type.Optional(Text()),
  source_ref: Type.Optional(Text()),
  target_ref: Type.Optional(Text()),
  error_summary: Type.Optional(Text()),
  error_details: Type.Optional(Text("Full error text, e.g. a traceback.", MAX_DETAILS_LENGTH)),
  git_repo: Type.Optional(Text("Repository URL; credentials are removed before storage.")),
  git_branch: Type.Optional(Text()),
  git_commit_hash: Type.Optional(Text()),
  git_run_tag: Type.Optional(Text()),
  git_commit_source: Type.Optional(CommitSource),
  git_commit_author: Type.Optional(Text()),
  git_commit_timestamp: Type.Optional(Timestamp("When the commit was made.")),
  host: Type.Optional(Text()),
  environment: Type.Optional(Text()),
  trigger_type: Type.Optional(Text()),
  metrics_json: Type.Optional(JsonObject("Free-form metrics object.")),
  context_json: Type.Optional(JsonObject("Free-form context object.")),
  api_posted: Type.Optional(Type.Boolean()),
  api_posted_at: Type.Optional(Timestamp("When a client buffer posted the run.")),
  api_retry_count: Type.Optional(Counter("Client-side retries.")),
  insight_id: Type.Optional(Text()),
  parent_run_id: Type.Optional(Text()),
});
export type TelemetryRun = Static<typeof TelemetryRun>;

export const TelemetryRunBatch = Type.Array(TelemetryRun, { description: "A JSON array of runs (no wrapper object)." });

/** The PATCH body: every field optional; nulls are ignored, and at least one non-null known field is required. */
export const RunUpdate = Type.Object({
  status: Type.Optional(Status),
  end_time: TelemetryRun.properties.end_time,
  duration_ms: TelemetryRun.properties.duration_ms,
  error_summary: TelemetryRun.properties.error_summary,
  error_details: TelemetryRun.properties.error_details,
  output_summary: TelemetryRun.properties.output_summary,
  items_succeeded: TelemetryRun.properties.items_succeeded,
  items_failed: TelemetryRun.properties.items_failed,
  items_skipped: TelemetryRun.properties.items_skipped,
  metrics_json: TelemetryRun.properties.metrics_json,
  context_json: TelemetryRun.properties.context_json,
  git_commit_source: TelemetryRun.properties.git_commit_source,
  git_commit_author: TelemetryRun.properties.git_commit_author,
  git_commit_timestamp: TelemetryRun.properties.git_commit_timestamp,
});
export type RunUpdate = Static<typeof RunUpdate>;

export const CommitAssociation = Type.Object({
  commit_hash: Type.String({ format: Formats.commitHash, description: "7–40 hexadecimal characters (64 for SHA-256 repositories).", examples: ["abc1234567890abcdef"] }),
  commit_source: CommitSource,
  commit_author: Type.Optional(Text()),
  commit_timestamp: Type.Optional(Timestamp("When the commit was made.")),
});
export type CommitAssociation = Static<typeof CommitAssociation>;

/** The filters of GET /api/v1/runs, shared by the export and stats endpoints. */
export const RunFilters = Type.Object({
  agent_name: Type.Optional(Type.String({ description: "Exact match." })),
  status: Type.Optional(Type.Array(Status, { description: "Repeat to match any of several statuses; aliases are normalised." })),
  job_type: Type.Optional(Type.String({ description: "Exact match." })),
  created_before: Type.Optional(Type.String({ description: "Runs created strictly before this instant (ISO 8601; no zone means UTC)." })),
  created_after: Type.Optional(Type.String({ description: "Runs created strictly after this instant." })),
  start_time_from: Type.Optional(Type.String({ description: "Runs started at or after this instant." })),
  start_time_to: Type.Optional(Type.String({ description: "Runs started at or before this instant." })),
  parent_run_id: Type.Optional(Type.String({ description: "Exact match." })),
  run_id: Type.Optional(Type.String({ description: "Exact match." })),
  git_commit_hash: Type.Optional(Type.String({ description: "Exact match." })),
  environment: Type.Optional(Type.String({ description: "Exact match." })),
  host: Type.Optional(Type.String({ description: "Exact match." })),
  product: Type.Optional(Type.String({ description: "Exact match." })),
  website: Type.Optional(Type.String({ description: "Exact match." })),
});

/** Query parameters of GET /api/v1/runs. Limits and defaults here are the ones the handler enforces. */
export const ListRunsQuery = Type.Object({
  ...RunFilters.properties,
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: "Page size." }),
  offset: Type.Integer({ minimum: 0, maximum: MAX_COUNTER, default: 0, description: "Rows to skip. Not combinable with `cursor` (400)." }),
  cursor: Type.Optional(
    Type.String({
      description:
        "Opaque position from the previous page's X-Next-Cursor header: the page continues after that run, with no overlap " +
        "or gap while runs are being inserted. Send the same filters again. An unreadable cursor is a 400.",
    }),
  ),
});

const Choice = <const T extends readonly string[]>(values: T, fallback: T[number] | undefined, description: string) =>
  Type.Unsafe<T[number]>({ type: "string", enum: [...values], ...(fallback ? { default: fallback } : {}), description });

export const EXPORT_FORMATS = ["ndjson", "csv"] as const;
/** Query parameters of GET /api/v1/runs/export: every filter of the list, no paging (the whole result is streamed). */
export const ExportRunsQuery = Type.Object({
  ...RunFilters.properties,
  format: Choice(EXPORT_FORMATS, "ndjson", "ndjson: one RunRecord per line. csv: RFC 4180, a header row, then one row per run."),
});

/** Query parameters of GET /api/v1/stats. */
export const StatsQuery = Type.Object({
  ...RunFilters.properties,
  created_after: Type.Optional(
    Type.String({ description: "Window start (exclusive). Default: 7 days of whole buckets ending with the bucket holding created_before (or now)." }),
  ),
  created_before: Type.Optional(Type.String({ description: "Window end (exclusive). Default: now." })),
  group_by: Type.Optional(Choice(STATS_GROUPS, undefined, "One series per value of this column; without it, one series of all matching runs.")),
  bucket: Choice(STATS_BUCKETS, "day", "Width of a time bucket, aligned to UTC hours or days."),
});

import { Type, type TProperties } from "@sinclair/typebox";
import { STATS_BUCKETS, STATS_GROUPS, STATS_LIMITS } from "../domain/stats.ts";
import { CANONICAL_STATUSES } from "../domain/statuses.ts";
import { TelemetryRun } from "./runs.ts";

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

const required = new Set<string>(TelemetryRun.required ?? []);
/** Fields of a stored run as GET returns them: required ones always set, every other one possibly null. */
const storedFields: TProperties = Object.fromEntries(
  Object.entries(TelemetryRun.properties).map(([name, schema]) => {
    const plain = Type.Optional(schema, false);
    return [name, required.has(name) ? plain : Type.Union([plain, Type.Null()])];
  }),
);

export const RunRecord = Type.Object(
  {
    id: Type.Integer({ description: "Row id, increasing with insertion order." }),
    ...storedFields,
    status: Type.String({ enum: [...CANONICAL_STATUSES], description: "Always a canonical status." }),
    schema_version: Type.Union([Type.Integer(), Type.Null()]),
    updated_at: Nullable(Type.String({ description: "Server time of the last change." })),
    api_posted: Type.Union([Type.Boolean(), Type.Null()]),
    metrics_json: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.String(), Type.Null()], {
      description: "Parsed object; the raw text if it is not valid JSON (then metrics_json_parse_error is set).",
    }),
    context_json: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.String(), Type.Null()], {
      description: "Parsed object; the raw text if it is not valid JSON (then context_json_parse_error is set).",
    }),
    metrics_json_parse_error: Type.Optional(Type.String()),
    context_json_parse_error: Type.Optional(Type.String()),
    commit_url: Nullable(Type.String({ description: "Derived for github.com, gitlab.com and bitbucket.org." })),
    repo_url: Nullable(Type.String({ description: "Derived for github.com, gitlab.com and bitbucket.org." })),
  },
  { additionalProperties: true },
);

export const RunCreated = Type.Object({ status: Type.Literal("created"), event_id: Type.String(), run_id: Type.String() });
export const RunDuplicate = Type.Object({ status: Type.Literal("duplicate"), event_id: Type.String(), message: Type.String() });
export const BatchResponse = Type.Object({
  inserted: Type.Integer(),
  duplicates: Type.Integer(),
  errors: Type.Array(Type.Unknown()),
  total: Type.Integer(),
});
export const RunUpdated = Type.Object({ event_id: Type.String(), updated: Type.Literal(true), fields_updated: Type.Array(Type.String()) });
export const CommitAssociated = Type.Object({
  status: Type.Literal("success"),
  event_id: Type.String(),
  run_id: Type.String(),
  commit_hash: Type.String(),
});
export const CommitUrlResponse = Type.Object({ commit_url: Nullable(Type.String()) });
export const RepoUrlResponse = Type.Object({ repo_url: Nullable(Type.String()) });
export const HealthResponse = Type.Object({
  status: Type.Union([Type.Literal("ok"), Type.Literal("degraded")], { description: "degraded while writes cannot be stored (disk full, read-only, file removed)" }),
  detail: Type.Optional(Type.String({ description: "Why the service is degraded." })),
  version: Type.String(),
  db_path: Type.String(),
  journal_mode: Type.String(),
  synchronous: Type.String(),
});
export const MetricsResponse = Type.Object({
  total_runs: Type.Integer(),
  agents: Type.Record(Type.String(), Type.Integer(), { description: "Runs per agent, largest first." }),
  recent_24h: Type.Integer(),
  performance: Type.Object({ db_path: Type.String(), journal_mode: Type.String() }),
});
export const MetadataResponse = Type.Object({
  agent_names: Type.Array(Type.String()),
  job_types: Type.Array(Type.String()),
  counts: Type.Object({ agent_names: Type.Integer(), job_types: Type.Integer() }),
});
const PerBucket = (description: string) => Type.Array(Type.Integer(), { description });
const PerBucketOrNull = (description: string) => Type.Array(Type.Union([Type.Number(), Type.Null()]), { description });
/** One chart series: every array has one entry per time bucket, aligned with StatsResponse.buckets. */
export const StatsSeries = Type.Object({
  group: Type.Union([Type.String(), Type.Null()], { description: "The group's value; null without group_by, or for runs where the column is null." }),
  total: PerBucket("Runs per bucket (0 where none)."),
  by_status: Type.Object(Object.fromEntries(CANONICAL_STATUSES.map((s) => [s, PerBucket(`Runs with status ${s} per bucket.`)]))),
  success_rate: PerBucketOrNull("success ÷ runs no longer running (4 decimals); null where none has finished."),
  duration_ms: Type.Object(
    {
      p50: PerBucketOrNull("Median (nearest rank)."),
      p95: PerBucketOrNull("95th percentile (nearest rank)."),
      max: PerBucketOrNull("Longest."),
    },
    { description: "duration_ms of the runs no longer running; null where none has finished." },
  ),
});
export const StatsResponse = Type.Object({
  bucket: Type.String({ enum: [...STATS_BUCKETS] }),
  group_by: Type.Union([Type.String({ enum: [...STATS_GROUPS] }), Type.Null()]),
  from: Type.String({ description: "First instant of the window (inclusive), UTC." }),
  to: Type.String({ description: "End of the window (exclusive), UTC." }),
  buckets: Type.Array(Type.String(), {
    description: "Start of each time bucket (UTC), oldest first: the x-axis every series array is aligned with. The first and last may be partly outside the window.",
  }),
  series: Type.Array(StatsSeries, { description: `The groups with the most runs first (then by name), at most ${STATS_LIMITS.series}.` }),
  groups_omitted: Type.Integer({ description: "Groups beyond the series limit; filter on one to see it." }),
  runs: Type.Integer({ description: "Runs counted." }),
  truncated: Type.Boolean({
    description: `More than ${STATS_LIMITS.rows.toLocaleString("en")} runs matched: only the newest were counted, so the oldest buckets are incomplete. Narrow the window or filter.`,
  }),
});
export const ErrorResponse = Type.Object({ detail: Type.String() });
export const ValidationErrorResponse = Type.Object({
  detail: Type.Array(
    Type.Object({
      type: Type.String(),
      loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
      msg: Type.String(),
      input: Type.Unknown(),
      ctx: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  ),
});

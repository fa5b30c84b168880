import { BUCKET_US, bucketOf, STATS_BUCKETS, STATS_GROUPS, STATS_LIMITS, StatsAccumulator, type Bucket } from "../domain/stats.ts";
import { formatMicrosUtc, nowTimestamp, parseFilterTimestamp, type Micros } from "../domain/timestamps.ts";
import { defineRoute, type Route } from "../http/route.ts";
import { HttpError, json, validationError } from "../http/responses.ts";
import { ErrorResponse, StatsResponse } from "../schema/responses.ts";
import { StatsQuery } from "../schema/runs.ts";
import type { ValidationIssue } from "../schema/validation.ts";
import type { RunPosition, RunStore } from "../store/run-store.ts";
import { literalChoice, parseRunFilters } from "./query.ts";

/** The window when created_after is not given. */
const DEFAULT_WINDOW_US = 7n * BUCKET_US.day;
// The instants formatMicrosUtc can write (years 0000-9999); a window is clamped to them.
const FIRST_US = (parseFilterTimestamp("0000-01-01") as { micros: Micros }).micros;
const END_US = (parseFilterTimestamp("9999-12-31T23:59:59.999999") as { micros: Micros }).micros;

export interface StatsWindow {
  /** First instant counted (inclusive) and end (exclusive). */
  fromUs: Micros;
  toUs: Micros;
  firstBucket: bigint;
  bucketCount: number;
}

/**
 * The time window: created_after/created_before when given (both exclusive, as on the list), else it ends now;
 * without created_after it is the 7 days of whole buckets ending with the bucket that holds its end.
 */
export function statsWindow(afterUs: Micros | undefined, beforeUs: Micros | undefined, bucket: Bucket, nowUs: Micros): StatsWindow {
  const width = BUCKET_US[bucket];
  let toUs = beforeUs ?? nowUs + 1n;
  let fromUs = afterUs !== undefined ? afterUs + 1n : (bucketOf(toUs - 1n, bucket) + 1n) * width - DEFAULT_WINDOW_US;
  fromUs = fromUs < FIRST_US ? FIRST_US : fromUs;
  toUs = toUs > END_US ? END_US : toUs;
  if (toUs <= fromUs) return { fromUs, toUs: fromUs, firstBucket: bucketOf(fromUs, bucket), bucketCount: 0 };
  const firstBucket = bucketOf(fromUs, bucket);
  return { fromUs, toUs, firstBucket, bucketCount: Number(bucketOf(toUs - 1n, bucket) - firstBucket + 1n) };
}

/** UTC instant as the charts want it: `Z`, fraction only when not whole seconds. */
function instant(micros: Micros): string {
  return formatMicrosUtc(micros).replace(/(\.000000)?\+00:00$/, "Z");
}

/** Runs read per page: between pages other requests are served, so a large window never stalls the server for long. */
const DEFAULT_LIMITS = { ...STATS_LIMITS, pageRows: 10_000 };

/** `limits` is for tests (small pages and caps); the server uses the documented ones. */
export function statsRoutes(store: RunStore, limits: { buckets: number; rows: number; series: number; pageRows: number } = DEFAULT_LIMITS): Route[] {
  return [
    defineRoute({
      method: "GET",
      path: "/api/v1/stats",
      summary: "Run counts, success rate and durations per group and time bucket",
      auth: false,
      rateLimited: true,
      query: StatsQuery,
      responses: {
        200: {
          description:
            "Chart-ready: one shared x-axis (`buckets`) and per group arrays aligned with it, zero-filled. Buckets are by created_at " +
            "(runs whose created_at could not be read are not counted). Durations and success rate count runs that are no longer running.",
          schema: StatsResponse,
        },
        400: { description: `Invalid status or timestamp filter, or a window of more than ${STATS_LIMITS.buckets} buckets.`, schema: ErrorResponse },
      },
      async handle({ query, request }) {
        const issues: ValidationIssue[] = [];
        const groupBy = literalChoice(query, "group_by", STATS_GROUPS, null);
        const bucket = literalChoice(query, "bucket", STATS_BUCKETS, "day");
        if (!groupBy.ok) issues.push(groupBy.issue);
        if (!bucket.ok) issues.push(bucket.issue);
        if (!groupBy.ok || !bucket.ok) throw validationError(issues);
        const filters = parseRunFilters(query);
        const window = statsWindow(filters.createdAfterUs, filters.createdBeforeUs, bucket.value, nowTimestamp().micros);
        if (window.bucketCount > limits.buckets) {
          throw new HttpError(
            400,
            `The window holds ${window.bucketCount} ${bucket.value} buckets; the limit is ${limits.buckets}: narrow created_after/created_before` +
              (bucket.value === "hour" ? " or use bucket=day" : ""),
          );
        }

        const totals = new StatsAccumulator(Number(window.firstBucket), window.bucketCount);
        if (groupBy.value === null) totals.tally(null);
        let runs = 0;
        let truncated = false;
        let after: RunPosition | null = null;
        while (window.bucketCount > 0 && !request.signal.aborted) {
          const page = store.statsPage(
            {
              ...filters,
              createdAfterUs: window.fromUs - 1n,
              createdBeforeUs: window.toUs,
              limit: Math.min(limits.pageRows, limits.rows - runs),
              offset: 0,
              ...(after ? { after } : {}),
            },
            groupBy.value,
            bucket.value,
          );
          for (const [number, group, status, durationMs] of page.rows) totals.add(number, group, status, durationMs);
          runs += page.rows.length;
          if (!page.next) break;
          if (runs >= limits.rows) {
            truncated = true;
            break;
          }
          after = page.next;
          await new Promise((resolve) => setImmediate(resolve));
        }

        const width = BUCKET_US[bucket.value];
        const { series, omitted } = totals.series(limits.series);
        return json(200, {
          bucket: bucket.value,
          group_by: groupBy.value,
          from: instant(window.fromUs),
          to: instant(window.toUs),
          buckets: Array.from({ length: window.bucketCount }, (_, i) => instant((window.firstBucket + BigInt(i)) * width)),
          series,
          groups_omitted: omitted,
          runs,
          truncated,
        });
      },
    }),
  ];
}

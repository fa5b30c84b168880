import { CANONICAL_STATUSES, type RunStatus as Status } from "./statuses.ts";

/** Columns the stats endpoint can group by. */
export const STATS_GROUPS = ["agent_name", "job_type", "status", "environment"] as const;
export type StatsGroup = (typeof STATS_GROUPS)[number];

/** Time buckets, aligned to UTC (epoch microseconds are a whole number of hours and days since 1970). */
export const STATS_BUCKETS = ["hour", "day"] as const;
export type Bucket = (typeof STATS_BUCKETS)[number];
export const BUCKET_US: Record<Bucket, bigint> = { hour: 3_600_000_000n, day: 86_400_000_000n };

/**
 * One line (or stack) of a chart: arrays aligned with the response's `buckets`, one entry per time bucket,
 * zero-filled where no run fell, null where a ratio or a duration has nothing to describe.
 */
export interface StatsSeries {
  group: string | null;
  total: number[];
  by_status: Record<Status, number[]>;
  /** success / runs that are no longer running. */
  success_rate: (number | null)[];
  /** Nearest-rank percentiles and maximum of duration_ms over runs that are no longer running. */
  duration_ms: { p50: (number | null)[]; p95: (number | null)[]; max: (number | null)[] };
}

interface Tally {
  group: string | null;
  runs: number;
  total: number[];
  byStatus: Record<Status, number[]>;
  durations: (number[] | undefined)[];
}

/**
 * Counts runs per (group, time bucket) as pages of runs arrive, keeping only counters and the durations the
 * percentiles need. A Map keyed by the group value, so names like "__proto__" are ordinary groups.
 */
export class StatsAccumulator {
  private readonly tallies = new Map<string | null, Tally>();

  constructor(
    private readonly firstBucket: number,
    private readonly bucketCount: number,
  ) {}

  /** `bucket` is the run's bucket number (instant / bucket width, floored). */
  add(bucket: number, group: string | null, status: string, durationMs: number): void {
    const slot = bucket - this.firstBucket;
    if (slot < 0 || slot >= this.bucketCount) return;
    const tally = this.tally(group);
    tally.runs++;
    tally.total[slot]!++;
    const counts = tally.byStatus[status as Status];
    if (counts) counts[slot]!++;
    if (status !== "running") (tally.durations[slot] ??= []).push(durationMs);
  }

  /** Makes sure the group has a series even if no run falls in it (the single series of an ungrouped request). */
  tally(group: string | null): Tally {
    let tally = this.tallies.get(group);
    if (!tally) {
      const zeros = () => new Array<number>(this.bucketCount).fill(0);
      const byStatus = Object.fromEntries(CANONICAL_STATUSES.map((s) => [s, zeros()])) as Record<Status, number[]>;
      tally = { group, runs: 0, total: zeros(), byStatus, durations: new Array(this.bucketCount) };
      this.tallies.set(group, tally);
    }
    return tally;
  }

  /** The `limit` largest groups (most runs first, then by name in code-point order, null last) and how many were left out. */
  series(limit: number): { series: StatsSeries[]; omitted: number } {
    const ordered = [...this.tallies.values()].sort(
      (a, b) => b.runs - a.runs || (a.group === b.group ? 0 : a.group === null ? 1 : b.group === null ? -1 : a.group < b.group ? -1 : 1),
    );
    return { series: ordered.slice(0, limit).map(toSeries), omitted: Math.max(0, ordered.length - limit) };
  }
}

function toSeries(tally: Tally): StatsSeries {
  const p50: (number | null)[] = [];
  const p95: (number | null)[] = [];
  const max: (number | null)[] = [];
  for (const durations of tally.durations) {
    const sorted = durations ? Float64Array.from(durations).sort() : null;
    p50.push(sorted ? nearestRank(sorted, 50) : null);
    p95.push(sorted ? nearestRank(sorted, 95) : null);
    max.push(sorted ? sorted[sorted.length - 1]! : null);
  }
  const success_rate = tally.total.map((total, i) => {
    const finished = total - tally.byStatus.running[i]!;
    return finished > 0 ? Math.round((tally.byStatus.success[i]! / finished) * 10_000) / 10_000 : null;
  });
  return { group: tally.group, total: tally.total, by_status: tally.byStatus, success_rate, duration_ms: { p50, p95, max } };
}

/** The smallest value with at least `percent`% of the values at or below it (integer arithmetic, no rounding drift). */
export function nearestRank(sorted: Float64Array, percent: number): number {
  const rank = Math.max(1, Math.ceil((percent * sorted.length) / 100));
  return sorted[rank - 1]!;
}

/** floor(instant / width) for any instant, also before 1970. */
export function bucketOf(micros: bigint, bucket: Bucket): bigint {
  const width = BUCKET_US[bucket];
  const quotient = micros / width;
  return micros < 0n && quotient * width !== micros ? quotient - 1n : quotient;
}

/** Bounds of one stats request: time buckets in the window, runs read, series returned. */
export const STATS_LIMITS = { buckets: 2_000, rows: 1_000_000, series: 50 } as const;

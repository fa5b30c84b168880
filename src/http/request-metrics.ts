/** Upper bounds (seconds) of the request-latency histogram buckets. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Upper bounds (writes) of the group-commit size histogram buckets. */
export const GROUP_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500];

/** A cumulative histogram: counts per upper bound, plus the total count and sum. */
export class Histogram {
  readonly counts: number[];
  count = 0;
  sum = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.count++;
    this.sum += value;
    const i = this.bounds.findIndex((bound) => value <= bound);
    if (i >= 0) this.counts[i]!++;
  }
}

/**
 * What the server has answered since it started. Labels are route patterns (never raw paths) and status
 * codes, so the number of series stays bounded whatever clients send.
 */
export class RequestMetrics {
  readonly requests = new Map<string, number>();
  readonly latency = new Map<string, Histogram>();
  readonly groupSizes = new Histogram(GROUP_BUCKETS);
  rateLimited = 0;

  record(route: string, status: number, seconds: number): void {
    const key = `${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let histogram = this.latency.get(route);
    if (!histogram) this.latency.set(route, (histogram = new Histogram(LATENCY_BUCKETS)));
    histogram.observe(seconds);
    if (status === 429) this.rateLimited++;
  }
}

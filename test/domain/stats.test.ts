import { expect, test } from "bun:test";
import { bucketOf, nearestRank, StatsAccumulator } from "../../src/domain/stats.ts";

test("nearest-rank percentiles: the smallest value with at least p% at or below it", () => {
  const values = (n: number) => Float64Array.from({ length: n }, (_, i) => i + 1);
  expect(nearestRank(values(1), 50)).toBe(1);
  expect(nearestRank(values(1), 95)).toBe(1);
  expect(nearestRank(values(2), 50)).toBe(1);
  expect(nearestRank(values(4), 95)).toBe(4);
  expect(nearestRank(values(20), 50)).toBe(10);
  expect(nearestRank(values(20), 95)).toBe(19);
  expect(nearestRank(values(100), 95)).toBe(95);
  expect(nearestRank(values(101), 95)).toBe(96);
});

test("buckets are floored, also before 1970", () => {
  expect(bucketOf(0n, "hour")).toBe(0n);
  expect(bucketOf(3_599_999_999n, "hour")).toBe(0n);
  expect(bucketOf(3_600_000_000n, "hour")).toBe(1n);
  expect(bucketOf(-1n, "hour")).toBe(-1n);
  expect(bucketOf(-3_600_000_000n, "hour")).toBe(-1n);
  expect(bucketOf(-3_600_000_001n, "hour")).toBe(-2n);
  expect(bucketOf(86_400_000_000n * 20_000n + 5n, "day")).toBe(20_000n);
});

test("the accumulator keeps running runs out of durations and success rate, and ignores rows outside its buckets", () => {
  const stats = new StatsAccumulator(100, 2);
  stats.add(100, "a", "running", 0);
  stats.add(100, "a", "success", 30);
  stats.add(100, "a", "failure", 10);
  stats.add(101, "a", "running", 0);
  stats.add(99, "a", "success", 1);
  stats.add(102, "a", "success", 1);
  const [series] = stats.series(10).series;
  expect(series).toEqual({
    group: "a",
    total: [3, 1],
    by_status: { running: [1, 1], success: [1, 0], failure: [1, 0], partial: [0, 0], timeout: [0, 0], cancelled: [0, 0] },
    success_rate: [0.5, null],
    duration_ms: { p50: [10, null], p95: [30, null], max: [30, null] },
  });
});

test("series: most runs first, ties by code-point order, null last; names like __proto__ are plain groups", () => {
  const stats = new StatsAccumulator(0, 1);
  for (const [group, n] of [["b", 2], [null, 2], ["__proto__", 2], ["a", 2], ["z", 3], ["constructor", 1]] as const) {
    for (let i = 0; i < n; i++) stats.add(0, group, "success", 1);
  }
  expect(stats.series(10).series.map((s) => s.group)).toEqual(["z", "__proto__", "a", "b", null, "constructor"]);
  expect(stats.series(2)).toMatchObject({ omitted: 4, series: [{ group: "z" }, { group: "__proto__" }] });
  expect(stats.series(10).series[1]!.total).toEqual([2]);
});

test("success rate is rounded to four decimals", () => {
  const stats = new StatsAccumulator(0, 1);
  stats.add(0, null, "success", 1);
  stats.add(0, null, "failure", 1);
  stats.add(0, null, "failure", 1);
  expect(stats.series(1).series[0]!.success_rate).toEqual([0.3333]);
});

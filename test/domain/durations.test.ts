import { describe, expect, test } from "bun:test";
import { days, parseDuration } from "../../src/domain/durations.ts";

const SECOND = 1_000_000n;

describe("parseDuration accepts a whole number and one unit", () => {
  const cases: [input: string, text: string, micros: bigint][] = [
    ["90m", "90m", 90n * 60n * SECOND],
    ["6h", "6h", 6n * 3600n * SECOND],
    ["30d", "30d", 30n * 86_400n * SECOND],
    ["45s", "45s", 45n * SECOND],
    ["2w", "2w", 14n * 86_400n * SECOND],
    [" 6H ", "6h", 6n * 3600n * SECOND],
    ["6 h", "6h", 6n * 3600n * SECOND],
    ["007d", "7d", 7n * 86_400n * SECOND],
    ["36525d", "36525d", 36_525n * 86_400n * SECOND],
  ];
  for (const [input, text, micros] of cases) {
    test(JSON.stringify(input), () => {
      expect(parseDuration(input)).toEqual({ ok: true, duration: { text, micros } });
    });
  }
});

describe("parseDuration refuses", () => {
  const cases: [input: string, reason: string][] = [
    ["", "expected"],
    ["6", "expected"],
    ["h", "expected"],
    ["1.5h", "expected"],
    ["-1d", "expected"],
    ["1h30m", "expected"],
    ["6 hours", "expected"],
    ["6y", "expected"],
    ["١٢h", "expected"], // non-ASCII digits
    ["9999999999999d", "expected"], // more digits than any sane setting
    ["0d", "longer than zero"],
    ["0s", "longer than zero"],
    ["36526d", "at most 100 years"],
    ["999999999999w", "at most 100 years"],
  ];
  for (const [input, reason] of cases) {
    test(JSON.stringify(input), () => {
      const parsed = parseDuration(input);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.reason).toContain(reason);
    });
  }
});

test("days(n) is the same duration as parsing `<n>d`", () => {
  expect(days(30)).toEqual({ text: "30d", micros: 30n * 86_400n * SECOND });
  const parsed = parseDuration("30d");
  expect(parsed.ok && parsed.duration).toEqual(days(30));
});

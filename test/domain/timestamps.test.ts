import { describe, expect, test } from "bun:test";
import {
  formatMicrosUtc,
  nowTimestamp,
  parseFilterTimestamp,
  parseZonedTimestamp,
  type Micros,
  type ParsedTimestamp,
  type TimestampProblem,
} from "../../src/domain/timestamps";

// Expected values are computed with Date only for VALID components, where its
// arithmetic is trustworthy. Date.UTC maps years 0-99 to 1900-1999, so the
// year is set separately with setUTCFullYear.
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, micro = 0): Micros {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return BigInt(date.getTime()) * 1000n + BigInt(micro);
}

const MINUTE = 60_000_000n;
const HOUR = 60n * MINUTE;

function microsOf(result: ParsedTimestamp): Micros {
  if (!result.ok) throw new Error(`expected ok, got problem "${result.problem}"`);
  return result.micros;
}

const parsers = [
  ["parseZonedTimestamp", parseZonedTimestamp],
  ["parseFilterTimestamp", parseFilterTimestamp],
] as const;

// Zoned inputs accepted identically by both parsers.
const zonedAccepted: ReadonlyArray<readonly [string, Micros]> = [
  // separators
  ["2026-01-05T18:40:27Z", utc(2026, 1, 5, 18, 40, 27)],
  ["2026-01-05t18:40:27Z", utc(2026, 1, 5, 18, 40, 27)],
  ["2026-01-05 18:40:27Z", utc(2026, 1, 5, 18, 40, 27)],
  // zone forms
  ["2026-01-05T18:40:27z", utc(2026, 1, 5, 18, 40, 27)],
  ["2026-01-05T18:40:27+00:00", utc(2026, 1, 5, 18, 40, 27)],
  ["2026-01-05T18:40:27-00:00", utc(2026, 1, 5, 18, 40, 27)],
  ["2026-01-05T18:40:27+0000", utc(2026, 1, 5, 18, 40, 27)],
  ["2026-01-05T18:40:27+05:30", utc(2026, 1, 5, 13, 10, 27)],
  ["2026-01-05T18:40:27+0530", utc(2026, 1, 5, 13, 10, 27)],
  ["2026-01-05T18:40:27-03:45", utc(2026, 1, 5, 22, 25, 27)],
  ["2026-01-05T18:40:27-0345", utc(2026, 1, 5, 22, 25, 27)],
  ["2026-01-05t18:40:27.5-0345", utc(2026, 1, 5, 22, 25, 27, 500_000)],
  ["2026-01-05 18:40:27.5+0345", utc(2026, 1, 5, 14, 55, 27, 500_000)],
  // offsets crossing day, month and year boundaries
  ["2026-01-01T01:00:00+02:00", utc(2025, 12, 31, 23)],
  ["2025-12-31T23:00:00-02:00", utc(2026, 1, 1, 1)],
  ["2024-03-01T00:30:00+01:00", utc(2024, 2, 29, 23, 30)],
  // extreme offsets
  ["2026-01-05T00:00:00+23:59", utc(2026, 1, 4, 0, 1)],
  ["2026-01-05T00:00:00-23:59", utc(2026, 1, 5, 23, 59)],
  ["2026-01-05T00:00:00+2359", utc(2026, 1, 4, 0, 1)],
  ["2026-01-05T00:00:00-2359", utc(2026, 1, 5, 23, 59)],
  // fraction lengths 1..9 (digits 7-9 truncated)
  ["2026-01-05T18:40:27.1Z", utc(2026, 1, 5, 18, 40, 27, 100_000)],
  ["2026-01-05T18:40:27.12Z", utc(2026, 1, 5, 18, 40, 27, 120_000)],
  ["2026-01-05T18:40:27.123Z", utc(2026, 1, 5, 18, 40, 27, 123_000)],
  ["2026-01-05T18:40:27.1234Z", utc(2026, 1, 5, 18, 40, 27, 123_400)],
  ["2026-01-05T18:40:27.12345Z", utc(2026, 1, 5, 18, 40, 27, 123_450)],
  ["2026-01-05T18:40:27.123456Z", utc(2026, 1, 5, 18, 40, 27, 123_456)],
  ["2026-01-05T18:40:27.1234567Z", utc(2026, 1, 5, 18, 40, 27, 123_456)],
  ["2026-01-05T18:40:27.12345678Z", utc(2026, 1, 5, 18, 40, 27, 123_456)],
  ["2026-01-05T18:40:27.123456789Z", utc(2026, 1, 5, 18, 40, 27, 123_456)],
  ["2026-01-05T18:40:27.999999999Z", utc(2026, 1, 5, 18, 40, 27, 999_999)],
  ["2026-01-05T18:40:27.000000000Z", utc(2026, 1, 5, 18, 40, 27)],
  ["2026-01-05T18:40:27.0Z", utc(2026, 1, 5, 18, 40, 27)],
  ["2026-01-05T18:40:27.000001Z", utc(2026, 1, 5, 18, 40, 27, 1)],
  // epoch and pre-epoch
  ["1970-01-01T00:00:00Z", 0n],
  ["1970-01-01T00:00:00.000001Z", 1n],
  ["1969-12-31T23:59:59.999999Z", -1n],
  ["1969-12-31T16:00:00-08:00", 0n],
  // bounds of the field ranges
  ["2026-12-31T23:59:59Z", utc(2026, 12, 31, 23, 59, 59)],
  ["2026-01-01T00:00:00Z", utc(2026, 1, 1)],
  ["2026-04-30T00:00:00Z", utc(2026, 4, 30)],
  ["2026-02-28T00:00:00Z", utc(2026, 2, 28)],
  // leap years: 2000 (divisible by 400), 2024 (by 4), 0000 (by 400), 2400
  ["2000-02-29T00:00:00Z", utc(2000, 2, 29)],
  ["2024-02-29T12:00:00Z", utc(2024, 2, 29, 12)],
  ["0000-02-29T00:00:00Z", utc(0, 2, 29)],
  ["2400-02-29T00:00:00Z", utc(2400, 2, 29)],
  ["0004-02-29T00:00:00Z", utc(4, 2, 29)],
  // two-digit-looking years must not be reinterpreted as 19xx
  ["0050-06-15T00:00:00Z", utc(50, 6, 15)],
  // extremes of the year range, with literal values cross-checked against
  // well-known constants, and offsets pushing the instant outside 0000-9999
  ["0000-01-01T00:00:00Z", -62_167_219_200_000_000n],
  ["9999-12-31T23:59:59.999999Z", 253_402_300_799_999_999n],
  ["0000-01-01T00:00:00+23:59", -62_167_219_200_000_000n - 23n * HOUR - 59n * MINUTE],
  ["9999-12-31T23:59:59.999999-23:59", 253_402_300_799_999_999n + 23n * HOUR + 59n * MINUTE],
  ["0000-01-01T00:00:00-01:00", utc(0, 1, 1, 1)],
  ["9999-12-31T23:59:59.999999+01:00", utc(9999, 12, 31, 22, 59, 59, 999_999)],
];

describe.each(parsers)("%s accepts zoned date-times", (_name, parse) => {
  test.each(zonedAccepted)("%p", (text, expected) => {
    expect(parse(text)).toEqual({ ok: true, micros: expected });
  });
});

describe("fraction truncation and microsecond resolution", () => {
  const base = utc(2026, 1, 1);
  test.each([
    ["2026-01-01T00:00:00.0000019Z", "2026-01-01T00:00:00.000001Z"],
    ["2026-01-01T00:00:00.000001999Z", "2026-01-01T00:00:00.000001Z"],
    ["2026-01-01T00:00:00.0000009Z", "2026-01-01T00:00:00Z"],
    ["2026-01-01T00:00:00.999999999Z", "2026-01-01T00:00:00.999999Z"],
    ["2026-01-01T00:00:00.12345678+01:00", "2026-01-01T00:00:00.123456+0100"],
  ])("%p equals %p", (a, b) => {
    expect(microsOf(parseZonedTimestamp(a))).toBe(microsOf(parseZonedTimestamp(b)));
  });

  test("truncation never carries into the next second", () => {
    expect(microsOf(parseZonedTimestamp("2026-01-01T00:00:00.9999999Z"))).toBe(base + 999_999n);
  });

  test("values one microsecond apart differ", () => {
    const one = microsOf(parseZonedTimestamp("2026-01-01T00:00:00.000001Z"));
    const two = microsOf(parseZonedTimestamp("2026-01-01T00:00:00.000002Z"));
    expect(one).toBe(base + 1n);
    expect(two).toBe(base + 2n);
    expect(two - one).toBe(1n);
    expect(one < two).toBe(true);
  });

  test("digits 7-9 do not distinguish values", () => {
    const a = microsOf(parseZonedTimestamp("2026-01-01T00:00:00.000001000Z"));
    const b = microsOf(parseZonedTimestamp("2026-01-01T00:00:00.000001999Z"));
    expect(a).toBe(b);
  });
});

describe("cross-zone ordering", () => {
  const pst = microsOf(parseZonedTimestamp("2026-01-01T10:00:00-08:00"));

  test("-08:00 equals the same instant in Z", () => {
    expect(pst).toBe(microsOf(parseZonedTimestamp("2026-01-01T18:00:00Z")));
    expect(pst).toBe(utc(2026, 1, 1, 18));
  });

  test("-08:00 is later than an earlier Z instant despite the smaller local hour", () => {
    const earlier = microsOf(parseZonedTimestamp("2026-01-01T17:00:00Z"));
    expect(pst > earlier).toBe(true);
    expect(pst - earlier).toBe(HOUR);
  });

  test("a later local time in a positive zone can be an earlier instant", () => {
    const tokyo = microsOf(parseZonedTimestamp("2026-01-02T02:00:00+09:00"));
    expect(tokyo).toBe(utc(2026, 1, 1, 17));
    expect(tokyo < pst).toBe(true);
  });

  test.each([
    ["2026-01-01T18:00:00Z"],
    ["2026-01-01T18:00:00+00:00"],
    ["2026-01-01T10:00:00-08:00"],
    ["2026-01-01T10:00:00-0800"],
    ["2026-01-02T03:00:00+09:00"],
    ["2026-01-01 23:30:00+05:30"],
    ["2026-01-01T18:00:00.000000000z"],
  ])("%p is 2026-01-01T18:00:00Z", (text) => {
    expect(microsOf(parseZonedTimestamp(text))).toBe(utc(2026, 1, 1, 18));
  });
});

// Syntactically well-formed but impossible values.
const calendarRejected: ReadonlyArray<readonly [string]> = [
  ["2026-02-30T00:00:00Z"],
  ["2026-02-31T00:00:00Z"],
  ["2026-04-31T00:00:00Z"],
  ["2026-06-31T00:00:00Z"],
  ["2026-09-31T00:00:00Z"],
  ["2026-11-31T00:00:00Z"],
  ["2026-01-32T00:00:00Z"],
  ["2026-12-32T00:00:00Z"],
  ["2026-01-99T00:00:00Z"],
  ["2023-02-29T00:00:00Z"],
  ["1900-02-29T00:00:00Z"],
  ["2100-02-29T00:00:00Z"],
  ["0001-02-29T00:00:00Z"],
  ["2024-02-30T00:00:00Z"],
  ["2026-00-01T00:00:00Z"],
  ["2026-13-01T00:00:00Z"],
  ["2026-99-01T00:00:00Z"],
  ["2026-01-00T00:00:00Z"],
  ["2026-01-01T24:00:00Z"],
  ["2026-01-01T99:00:00Z"],
  ["2026-01-01T00:60:00Z"],
  ["2026-01-01T00:00:60Z"],
  ["2016-12-31T23:59:60Z"], // a real leap second, still rejected
  ["2026-01-01T00:00:99Z"],
  ["2026-01-01T00:00:00+24:00"],
  ["2026-01-01T00:00:00-24:00"],
  ["2026-01-01T00:00:00+2400"],
  ["2026-01-01T00:00:00-2400"],
  ["2026-01-01T00:00:00+00:60"],
  ["2026-01-01T00:00:00-00:60"],
  ["2026-01-01T00:00:00+0060"],
  ["2026-01-01T00:00:00+23:60"],
  ["2026-01-01T00:00:00+99:99"],
  ["2026-02-30 00:00:00.123456789+01:00"],
];

describe.each(parsers)("%s rejects impossible calendar values", (_name, parse) => {
  test.each(calendarRejected)("%p", (text) => {
    expect(parse(text)).toEqual({ ok: false, problem: "calendar" });
  });
});

describe("calendar validation agrees with the Gregorian calendar", () => {
  // Date rolls invalid components over; a date is valid exactly when it survives the round trip.
  const years = [0, 1, 4, 100, 400, 1600, 1700, 1900, 1970, 1999, 2000, 2023, 2024, 2100, 2400, 9999];
  for (const year of years) {
    test(`every month and day 00-32 of ${String(year).padStart(4, "0")}`, () => {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          const probe = new Date(0);
          probe.setUTCFullYear(year, month - 1, day);
          const valid =
            month >= 1 &&
            month <= 12 &&
            day >= 1 &&
            probe.getUTCFullYear() === year &&
            probe.getUTCMonth() === month - 1 &&
            probe.getUTCDate() === day;
          const date = `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
          const zoned = parseZonedTimestamp(`${date}T12:34:56Z`);
          const bare = parseFilterTimestamp(date);
          if (valid) {
            expect(zoned).toEqual({ ok: true, micros: utc(year, month, day, 12, 34, 56) });
            expect(bare).toEqual({ ok: true, micros: utc(year, month, day) });
          } else {
            expect(zoned).toEqual({ ok: false, problem: "calendar" });
            expect(bare).toEqual({ ok: false, problem: "calendar" });
          }
        }
      }
    });
  }
});

// Malformed for both parsers.
const formatRejected: ReadonlyArray<readonly [string]> = [
  [""],
  ["abc"],
  ["2026-1-1T00:00:00Z"],
  ["2026-01-1T00:00:00Z"],
  ["2026-1-01T00:00:00Z"],
  ["26-01-01T00:00:00Z"],
  ["02026-01-01T00:00:00Z"],
  ["+2026-01-01T00:00:00Z"],
  ["-2026-01-01T00:00:00Z"],
  ["2026/01/01T00:00:00Z"],
  ["20260101T000000Z"],
  ["2026-01-01T00:00Z"],
  ["2026-01-01T00:00"],
  ["2026-01-01T0:00:00Z"],
  ["2026-01-01T00:0:00Z"],
  ["2026-01-01T00:00:0Z"],
  ["2026-01-01T00:00:00Z "],
  ["2026-01-01T00:00:00Z\n"],
  [" 2026-01-01T00:00:00Z"],
  ["\t2026-01-01T00:00:00Z"],
  ["2026-01-01T00:00:00+0800x"],
  ["2026-01-01T00:00:00+08:00x"],
  ["2026-01-01T00:00:00Zx"],
  ["2026-01-01T00:00:00ZZ"],
  ["2026-01-01T00:00:00Z+08:00"],
  ["2026-01-01T00:00:00+08:00Z"],
  ["2026-01-01T00:00:00 Z"],
  ["2026-01-01T00:00:00 +08:00"],
  ["2026-01-01  00:00:00Z"],
  ["2026-01-01_00:00:00Z"],
  ["2026-01-01x00:00:00Z"],
  ["2026-01-01T00:00:00.Z"],
  ["2026-01-01T00:00:00."],
  ["2026-01-01T00:00:00.1234567890Z"],
  ["2026-01-01T00:00:00,5Z"],
  ["2026-01-01T00:00:00.5.5Z"],
  ["2026-01-01T00:00:00+08"],
  ["2026-01-01T00:00:00+8:00"],
  ["2026-01-01T00:00:00+08:0"],
  ["2026-01-01T00:00:00+080"],
  ["2026-01-01T00:00:00+08:00:00"],
  ["2026-01-01T00:00:00+08-00"],
  ["2026-01-01T00:00:00±08:00"],
  ["2026-01-01T00:00:00\u221208:00"], // Unicode minus sign
  ["2026-01-01T00:00:00UTC"],
  ["2026-01-01T00:00:00GMT"],
  ["2026-01-01T00:00:00 GMT+0000"],
  ["2026-01-01T00:00:00A"],
  ["2026-01-01T"],
  ["2026-01-01 "],
  ["2026-01"],
  ["2026"],
  ["T00:00:00Z"],
  ["00:00:00Z"],
  ["\uFF12\uFF10\uFF12\uFF16-01-01T00:00:00Z"], // full-width digits
  ["\u0662\u0660\u0662\u0666-01-01T00:00:00Z"], // Arabic-Indic digits
  ["Thu, 01 Jan 2026 00:00:00 GMT"],
  ["1767225600"],
  ["2026-01-01T00:00:00\u0000"],
];

describe.each(parsers)("%s rejects malformed text as format", (_name, parse) => {
  test.each(formatRejected)("%p", (text) => {
    expect(parse(text)).toEqual({ ok: false, problem: "format" });
  });
});

describe("parseZonedTimestamp requires a zone", () => {
  test.each([
    ["2026-01-01T00:00:00"],
    ["2026-01-01t00:00:00"],
    ["2026-01-01 00:00:00"],
    ["2025-12-20 08:00:00"],
    ["2026-01-01T00:00:00.5"],
    ["2026-01-01T00:00:00.123456789"],
    ["2024-02-29T23:59:59"],
  ])("%p is a zone problem", (text) => {
    expect(parseZonedTimestamp(text)).toEqual({ ok: false, problem: "zone" });
  });

  test.each([["2026-01-01"], ["2024-02-29"], ["0000-01-01"]])("bare date %p is a format problem", (text) => {
    expect(parseZonedTimestamp(text)).toEqual({ ok: false, problem: "format" });
  });

  test.each<readonly [string, TimestampProblem]>([
    ["2026-02-30T00:00:00", "calendar"],
    ["2023-02-29 00:00:00", "calendar"],
    ["2026-01-01T24:00:00", "calendar"],
    ["2026-01-01T00:00:60", "calendar"],
    ["2026-02-30", "format"],
    ["2026-01-01T00:00", "format"],
    ["2026-01-01T00:00:00 ", "format"],
  ])("zone-less %p reports %p, not zone", (text, problem) => {
    expect(parseZonedTimestamp(text)).toEqual({ ok: false, problem });
  });
});

describe("parseFilterTimestamp accepts zone-less values as UTC", () => {
  test.each<readonly [string, Micros]>([
    ["2026-01-01T00:00:00", utc(2026, 1, 1)],
    ["2026-01-01t00:00:00", utc(2026, 1, 1)],
    ["2026-01-01 00:00:00", utc(2026, 1, 1)],
    ["2025-12-20 08:00:00", utc(2025, 12, 20, 8)], // legacy SQLite CURRENT_TIMESTAMP form
    ["2025-12-20 08:00:00.5", utc(2025, 12, 20, 8, 0, 0, 500_000)],
    ["2025-12-20T08:00:00.123456789", utc(2025, 12, 20, 8, 0, 0, 123_456)],
    ["2024-02-29T23:59:59", utc(2024, 2, 29, 23, 59, 59)],
    ["0000-01-01T00:00:00", -62_167_219_200_000_000n],
    ["9999-12-31 23:59:59.999999", 253_402_300_799_999_999n],
  ])("%p", (text, expected) => {
    expect(parseFilterTimestamp(text)).toEqual({ ok: true, micros: expected });
  });

  test("zone-less value equals its Z form", () => {
    expect(microsOf(parseFilterTimestamp("2025-12-20 08:00:00"))).toBe(
      microsOf(parseZonedTimestamp("2025-12-20T08:00:00Z")),
    );
  });

  test.each<readonly [string, Micros]>([
    ["2026-01-01", utc(2026, 1, 1)],
    ["2025-12-20", utc(2025, 12, 20)],
    ["2024-02-29", utc(2024, 2, 29)],
    ["2000-02-29", utc(2000, 2, 29)],
    ["1970-01-01", 0n],
    ["1969-12-31", -86_400_000_000n],
    ["0000-01-01", -62_167_219_200_000_000n],
    ["9999-12-31", utc(9999, 12, 31)],
  ])("bare date %p is midnight UTC", (text, expected) => {
    expect(parseFilterTimestamp(text)).toEqual({ ok: true, micros: expected });
  });

  test.each([["1900-02-29"], ["2023-02-29"], ["2026-04-31"], ["2026-13-01"], ["2026-00-10"], ["2026-01-00"]])(
    "impossible bare date %p is a calendar problem",
    (text) => {
      expect(parseFilterTimestamp(text)).toEqual({ ok: false, problem: "calendar" });
    },
  );

  test("never reports a zone problem", () => {
    for (const text of ["2026-01-01T00:00:00", "2026-01-01", "2026-02-30T00:00:00", "garbage"]) {
      const result = parseFilterTimestamp(text);
      expect(result.ok === false && result.problem === "zone").toBe(false);
    }
  });
});

describe("formatMicrosUtc", () => {
  test.each<readonly [Micros, string]>([
    [0n, "1970-01-01T00:00:00.000000+00:00"],
    [1n, "1970-01-01T00:00:00.000001+00:00"],
    [-1n, "1969-12-31T23:59:59.999999+00:00"],
    [-86_400_000_000n, "1969-12-31T00:00:00.000000+00:00"],
    [-86_400_000_001n, "1969-12-30T23:59:59.999999+00:00"],
    [utc(2026, 1, 5, 18, 40, 27, 123_456), "2026-01-05T18:40:27.123456+00:00"],
    [utc(2026, 1, 5, 18, 40, 27, 7), "2026-01-05T18:40:27.000007+00:00"],
    [utc(2026, 1, 5, 18, 40, 27, 120_000), "2026-01-05T18:40:27.120000+00:00"],
    [utc(2000, 2, 29, 23, 59, 59, 999_999), "2000-02-29T23:59:59.999999+00:00"],
    [utc(2024, 2, 29), "2024-02-29T00:00:00.000000+00:00"],
    [utc(2023, 3, 1), "2023-03-01T00:00:00.000000+00:00"],
    [utc(1900, 3, 1), "1900-03-01T00:00:00.000000+00:00"],
    [utc(1900, 2, 28, 9, 5, 3), "1900-02-28T09:05:03.000000+00:00"],
    [utc(5, 7, 9, 1, 2, 3, 4), "0005-07-09T01:02:03.000004+00:00"],
    [utc(999, 12, 31, 23, 59, 59), "0999-12-31T23:59:59.000000+00:00"],
    [-62_167_219_200_000_000n, "0000-01-01T00:00:00.000000+00:00"],
    [253_402_300_799_999_999n, "9999-12-31T23:59:59.999999+00:00"],
  ])("%p -> %p", (micros, text) => {
    expect(formatMicrosUtc(micros)).toBe(text);
  });

  test.each([[-62_167_219_200_000_001n], [253_402_300_800_000_000n], [-(10n ** 20n)], [10n ** 20n]])(
    "%p outside years 0000-9999 throws RangeError",
    (micros) => {
      expect(() => formatMicrosUtc(micros)).toThrow(RangeError);
    },
  );

  test("an offset can parse to an instant that cannot be formatted", () => {
    const micros = microsOf(parseZonedTimestamp("0000-01-01T00:00:00+00:01"));
    expect(micros).toBe(-62_167_219_200_000_000n - MINUTE);
    expect(() => formatMicrosUtc(micros)).toThrow(RangeError);
  });

  test.each<readonly [string, string]>([
    ["2026-01-01T10:00:00-08:00", "2026-01-01T18:00:00.000000+00:00"],
    ["2026-01-01t10:00:00.5+0530", "2026-01-01T04:30:00.500000+00:00"],
    ["2026-01-01 00:00:00.123456789z", "2026-01-01T00:00:00.123456+00:00"],
    ["2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000000+00:00"],
    ["2026-01-05T18:40:27.123456+00:00", "2026-01-05T18:40:27.123456+00:00"],
  ])("%p normalises to %p", (input, canonical) => {
    const text = formatMicrosUtc(microsOf(parseZonedTimestamp(input)));
    expect(text).toBe(canonical);
    // The canonical form is a fixed point.
    expect(formatMicrosUtc(microsOf(parseZonedTimestamp(text)))).toBe(canonical);
  });

  test.each<readonly [Micros]>([
    [0n],
    [1n],
    [-1n],
    [999_999n],
    [-999_999n],
    [1_000_000n],
    [-1_000_000n],
    [utc(2026, 1, 5, 18, 40, 27, 123_456)],
    [utc(1900, 2, 28, 23, 59, 59, 999_999)],
    [utc(1, 1, 1, 0, 0, 0, 1)],
    [-62_167_219_200_000_000n],
    [253_402_300_799_999_999n],
  ])("%p round-trips through both parsers", (micros) => {
    const text = formatMicrosUtc(micros);
    expect(parseZonedTimestamp(text)).toEqual({ ok: true, micros });
    expect(parseFilterTimestamp(text)).toEqual({ ok: true, micros });
  });

  test("agrees with Date#toISOString across the whole year range", () => {
    // Every 97th day (coprime to week, month and year lengths) with a varying time of day.
    const first = Date.UTC(2000, 0, 1) - 730_485 * 86_400_000; // 0000-01-01
    const last = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    let checked = 0;
    for (let ms = first, i = 0; ms <= last; ms += 97 * 86_400_000 + 3_601_001, i++) {
      const micro = (i * 7_919) % 1_000;
      const micros = BigInt(ms) * 1000n + BigInt(micro);
      const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
      const expected = `${iso.slice(0, 23)}${String(micro).padStart(3, "0")}+00:00`;
      const text = formatMicrosUtc(micros);
      if (text !== expected) expect(text).toBe(expected);
      const back = parseZonedTimestamp(text);
      if (!back.ok || back.micros !== micros) expect(back).toEqual({ ok: true, micros });
      checked++;
    }
    expect(new Date(first).toISOString()).toBe("0000-01-01T00:00:00.000Z");
    expect(checked).toBeGreaterThan(35_000);
  });
});

describe("parsers agree with an independent model on random valid inputs", () => {
  // Deterministic xorshift so failures reproduce.
  let state = 0x9e3779b9;
  const next = (n: number): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const two = (n: number): string => String(n).padStart(2, "0");

  test("2000 random zoned date-times", () => {
    for (let i = 0; i < 2_000; i++) {
      const year = next(10_000);
      const month = 1 + next(12);
      const probe = new Date(0);
      probe.setUTCFullYear(year, month, 0); // day 0 of the next month = last day of this one
      const day = 1 + next(probe.getUTCDate());
      const hour = next(24);
      const minute = next(60);
      const second = next(60);
      const digits = next(10); // 0 = no fraction
      let fraction = "";
      for (let d = 0; d < digits; d++) fraction += String(next(10));
      const micro = digits === 0 ? 0 : Number(fraction.slice(0, 6).padEnd(6, "0"));
      const zoneKind = next(4);
      const offsetHour = next(24);
      const offsetMinute = next(60);
      const negative = next(2) === 1;
      const zone =
        zoneKind === 0
          ? next(2) === 0
            ? "Z"
            : "z"
          : `${negative ? "-" : "+"}${two(offsetHour)}${zoneKind === 1 ? "" : ":"}${two(offsetMinute)}`;
      const offsetMicros = zoneKind === 0 ? 0n : BigInt(offsetHour) * HOUR + BigInt(offsetMinute) * MINUTE;
      const separator = ["T", "t", " "][next(3)]!;
      const text = `${String(year).padStart(4, "0")}-${two(month)}-${two(day)}${separator}${two(hour)}:${two(minute)}:${two(second)}${digits === 0 ? "" : "." + fraction}${zone}`;
      const expected =
        utc(year, month, day, hour, minute, second, micro) + (negative ? offsetMicros : -offsetMicros);
      const zoned = parseZonedTimestamp(text);
      const filter = parseFilterTimestamp(text);
      if (!zoned.ok || zoned.micros !== expected) expect({ text, zoned }).toEqual({ text, zoned: { ok: true, micros: expected } });
      if (!filter.ok || filter.micros !== expected) expect({ text, filter }).toEqual({ text, filter: { ok: true, micros: expected } });
    }
  });
});

describe("nowTimestamp", () => {
  const SHAPE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/;

  test("has the exact contract shape", () => {
    const { text } = nowTimestamp();
    expect(text).toMatch(SHAPE);
  });

  test("text and micros describe the same instant", () => {
    const now = nowTimestamp();
    expect(formatMicrosUtc(now.micros)).toBe(now.text);
    expect(parseZonedTimestamp(now.text)).toEqual({ ok: true, micros: now.micros });
    expect(parseFilterTimestamp(now.text)).toEqual({ ok: true, micros: now.micros });
  });

  test("millisecond part follows Date.now()", () => {
    const before = BigInt(Date.now()) * 1000n;
    const now = nowTimestamp();
    const after = BigInt(Date.now()) * 1000n + 999n;
    expect(now.micros >= before).toBe(true);
    expect(now.micros <= after).toBe(true);
  });

  test("successive calls are strictly increasing (runs created in sequence sort in creation order)", () => {
    let previous = nowTimestamp().micros;
    for (let i = 0; i < 10_000; i++) {
      const next = nowTimestamp().micros;
      if (next <= previous) expect({ i, next, previous }).toEqual({ i, next: previous + 1n, previous });
      previous = next;
    }
  });

  test("sub-millisecond digits vary", () => {
    const endings = new Set<string>();
    for (let i = 0; i < 200 && endings.size < 3; i++) {
      const start = performance.now();
      while (performance.now() - start < 0.05) {
        // spin briefly so successive calls land at different sub-millisecond points
      }
      endings.add(nowTimestamp().text.slice(23, 26));
    }
    expect(endings.size).toBeGreaterThanOrEqual(3);
  });
});

/**
 * Timestamp parsing and formatting for the API contract.
 *
 * Instants are carried as epoch microseconds in a bigint: years 0000-9999 in
 * microseconds reach ~2.5e17, far beyond Number's exact range (2^53), while
 * whole seconds (~2.5e11) fit comfortably. So the calendar arithmetic runs in
 * exact integer Numbers and only the final scale-to-micros step uses bigint.
 *
 * JavaScript's Date parser is deliberately not used: it silently rolls
 * impossible values over (Feb 30 -> Mar 2) and its accepted syntax differs
 * between engines, both of which would let invalid data into storage.
 */

/** Epoch microseconds as bigint (exact for years 0000-9999, also after applying the offset). */
export type Micros = bigint;
export type TimestampProblem = "format" | "calendar" | "zone";
export type ParsedTimestamp = { ok: true; micros: Micros } | { ok: false; problem: TimestampProblem };

// One regex for both parsers so a value is tokenised identically everywhere.
// Groups: 1 year, 2 month, 3 day, then optionally (the time part)
// 4 hour, 5 minute, 6 second, 7 fraction, 8 "Z", 9 sign, 10 offset hour, 11 offset minute.
// Ranges are checked numerically afterwards so that "2026-02-30" is reported
// as a calendar problem rather than as unreadable text.
// `\d` without the `u` flag matches ASCII digits only, so no other numerals slip in.
const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?$/;

// Failures carry no per-call data, so shared frozen results avoid an
// allocation on every rejected write.
const FORMAT: ParsedTimestamp = Object.freeze({ ok: false, problem: "format" });
const CALENDAR: ParsedTimestamp = Object.freeze({ ok: false, problem: "calendar" });
const ZONE: ParsedTimestamp = Object.freeze({ ok: false, problem: "zone" });

const SECONDS_PER_DAY = 86_400;
const MICROS_PER_SECOND = 1_000_000n;
const MICROS_PER_DAY = 86_400_000_000n;

// Scales a fraction of n digits (n <= 6) up to microseconds without building a padded string.
const FRACTION_SCALE = [1, 100_000, 10_000, 1_000, 100, 10, 1] as const;

/** Strict parse for values clients WRITE: RFC 3339 date-time that MUST carry a zone. */
export function parseZonedTimestamp(text: string): ParsedTimestamp {
  return parse(text, true);
}

/** Lenient parse for query FILTERS and for legacy stored values: also a zone-less date-time (read as UTC) or a bare date YYYY-MM-DD (midnight UTC). */
export function parseFilterTimestamp(text: string): ParsedTimestamp {
  return parse(text, false);
}

let lastNow: Micros = 0n;

/**
 * The server's "now" in the exact form 2026-01-05T18:40:27.123456+00:00 (6 fractional digits, +00:00), plus its micros.
 *
 * Date.now() supplies the wall-clock millisecond and performance.now() the sub-millisecond digits. Those two
 * clocks' millisecond edges are not aligned, and the wall clock can step back, so the result is also kept
 * strictly increasing within the process: runs created one after another sort in creation order.
 */
export function nowTimestamp(): { text: string; micros: Micros } {
  // Flooring before the modulo keeps the result an exact integer in 0..999;
  // multiplying a float fraction could round up to 1000.
  const subMillisecond = Math.floor(performance.now() * 1000) % 1000;
  const wall = BigInt(Date.now()) * 1000n + BigInt(subMillisecond);
  lastNow = wall > lastNow ? wall : lastNow + 1n;
  return { text: formatMicrosUtc(lastNow), micros: lastNow };
}

// The instants that format to a 4-digit year; anything outside cannot be
// written in the contract's form (RFC 3339 has no expanded years).
const MIN_FORMATTABLE: Micros = BigInt(daysFromCivil(0, 1, 1)) * MICROS_PER_DAY;
const MAX_FORMATTABLE: Micros = BigInt(daysFromCivil(10000, 1, 1)) * MICROS_PER_DAY - 1n;

/**
 * Format epoch micros as 2026-01-05T18:40:27.123456+00:00
 *
 * @throws RangeError when the instant is outside years 0000-9999 in UTC
 *   (reachable e.g. by parsing "0000-01-01T00:00:00+01:00").
 */
export function formatMicrosUtc(micros: Micros): string {
  if (micros < MIN_FORMATTABLE || micros > MAX_FORMATTABLE) {
    throw new RangeError(`timestamp out of range for years 0000-9999: ${micros} micros`);
  }
  // bigint division truncates toward zero; instants before 1970 need floor
  // semantics so the time of day stays non-negative.
  let days = micros / MICROS_PER_DAY;
  let microsOfDay = micros % MICROS_PER_DAY;
  if (microsOfDay < 0n) {
    microsOfDay += MICROS_PER_DAY;
    days -= 1n;
  }
  // Both now fit exactly in a Number (|days| < 3e6, microsOfDay < 8.64e10).
  const dayNumber = Number(days);
  const usOfDay = Number(microsOfDay);
  const secondOfDay = Math.floor(usOfDay / 1_000_000);
  const fraction = usOfDay - secondOfDay * 1_000_000;

  // Inverse of daysFromCivil, inlined so formatting allocates nothing but the string.
  const z = dayNumber + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1_460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  return (
    pad(year, 4) +
    "-" +
    pad(month, 2) +
    "-" +
    pad(day, 2) +
    "T" +
    pad(Math.floor(secondOfDay / 3_600), 2) +
    ":" +
    pad(Math.floor(secondOfDay / 60) % 60, 2) +
    ":" +
    pad(secondOfDay % 60, 2) +
    "." +
    pad(fraction, 6) +
    "+00:00"
  );
}

function parse(text: string, requireZone: boolean): ParsedTimestamp {
  const m = TIMESTAMP_RE.exec(text);
  if (m === null) return FORMAT;

  const hourText = m[4];
  // A bare date is a filter convenience, not a date-time; for the strict
  // parser it is unreadable text rather than a date-time missing its zone.
  if (hourText === undefined && requireZone) return FORMAT;

  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return CALENDAR;

  let seconds = daysFromCivil(year, month, day) * SECONDS_PER_DAY;
  let fractionMicros = 0;

  if (hourText !== undefined) {
    const hour = Number(hourText);
    const minute = Number(m[5]);
    // Leap seconds (":60") are rejected: epoch arithmetic has no slot for them.
    const second = Number(m[6]);
    if (hour > 23 || minute > 59 || second > 59) return CALENDAR;
    seconds += hour * 3_600 + minute * 60 + second;

    const sign = m[9];
    if (sign !== undefined) {
      const offsetHour = Number(m[10]);
      const offsetMinute = Number(m[11]);
      if (offsetHour > 23 || offsetMinute > 59) return CALENDAR;
      const offsetSeconds = offsetHour * 3_600 + offsetMinute * 60;
      // Local time = UTC + offset, so UTC = local - offset.
      seconds += sign === "+" ? -offsetSeconds : offsetSeconds;
    } else if (m[8] === undefined && requireZone) {
      // Checked only after the calendar so "zone" always means "valid apart from the zone".
      return ZONE;
    }

    const fraction = m[7];
    if (fraction !== undefined) {
      // Truncate, never round: rounding could carry into the next second and
      // would make the stored instant later than the one the client sent.
      fractionMicros =
        fraction.length >= 6 ? Number(fraction.slice(0, 6)) : Number(fraction) * FRACTION_SCALE[fraction.length]!;
    }
  }

  return { ok: true, micros: BigInt(seconds) * MICROS_PER_SECOND + BigInt(fractionMicros) };
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil). Counting years from March puts the leap day last, so the
 * month-to-day-of-year mapping is a closed formula with no lookup table.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  // Math.floor, not truncation: year 0000 in Jan/Feb gives y = -1.
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/**
 * Durations written by people in settings and flags: a whole number and one unit, `90m`, `6h`, `30d`.
 * Pure; callers turn a failure into their own one-line error (ConfigError, a usage error).
 */

export interface Duration {
  /** Canonical spelling (`6h`), for messages and the stale-run note. */
  text: string;
  micros: bigint;
}

export type ParsedDuration = { ok: true; duration: Duration } | { ok: false; reason: string };

const UNIT_MICROS: Record<string, bigint> = {
  s: 1_000_000n,
  m: 60_000_000n,
  h: 3_600_000_000n,
  d: 86_400_000_000n,
  w: 604_800_000_000n,
};

/** A century: longer is a typo, and anything shorter than that still fits the instants we store. */
const MAX_MICROS = 36_525n * UNIT_MICROS.d!;

const DURATION_RE = /^(\d{1,12})\s*([smhdw])$/;

export const DURATION_HINT = "a whole number and a unit s, m, h, d or w, such as 90m, 6h or 30d";

/** Parses `<n><unit>` (surrounding spaces and upper-case units allowed); zero and more than a century are refused. */
export function parseDuration(input: string): ParsedDuration {
  const match = DURATION_RE.exec(input.trim().toLowerCase());
  if (!match) return { ok: false, reason: `expected ${DURATION_HINT}` };
  const amount = BigInt(match[1]!);
  const unit = match[2]!;
  const micros = amount * UNIT_MICROS[unit]!;
  if (amount === 0n) return { ok: false, reason: "must be longer than zero" };
  if (micros > MAX_MICROS) return { ok: false, reason: "must be at most 100 years" };
  return { ok: true, duration: { text: `${amount}${unit}`, micros } };
}

/** A duration of whole days (TELEMETRY_RETENTION_DAYS), in the same shape. */
export function days(n: number): Duration {
  return { text: `${n}d`, micros: BigInt(n) * UNIT_MICROS.d! };
}

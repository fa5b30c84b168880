/**
 * Property-based fuzzing of the real server (fast-check). Shared by the short run in `npm test`
 * (test/fuzz/fuzz.test.ts) and the long one (`npm run fuzz`, bench/fuzz.ts): both build the same
 * properties from PROPERTIES and differ only in how many cases they run.
 *
 * Bodies are generated as JSON *syntax trees* (JsonNode) and serialised by hand, so a case can spell a
 * number `3.0`, `-0` or `1e309`, escape every character, repeat a key or carry `__proto__` as a plain
 * key; some cases then corrupt the UTF-8 bytes. The oracle never trusts the server: it decodes and
 * parses the exact bytes sent and applies behaviours.md to them (the judge* functions) to decide
 * which answers are allowed and, for an accepted run, what GET must return. event_ids are made unique
 * per case (`id~n` when the generated id is already stored), so shrinking never collides with old runs.
 *
 * Invariants checked on every answer: never a 5xx, always a complete HTTP answer, a JSON content type
 * and a body that parses, `detail` on every 4xx (422: an array of {type, loc, msg}), nothing that looks
 * like a stack trace, an SQLite message or a source path. Between batches of cases /health must answer
 * 200 "ok"; at the end the database passes `PRAGMA integrity_check`.
 *
 * Read-back rules ("every accepted run reads back byte-for-byte"):
 * - strings come back identical, code unit for code unit (NUL and astral characters included);
 * - counters: an integral number (`3.0`, `1e2`) or a decimal string ("3") becomes that integer;
 * - api_posted: the accepted boolean spellings become true/false;
 * - status: the aliases failed/completed/succeeded become failure/success/success;
 * - git_repo: credentials (`user:token@` after `scheme://`) are removed; nothing else may change;
 * - metrics_json / context_json: deep-equal to the object sent (integer-like keys may come back in
 *   another order; `-0` and `0` are the same JSON number; anything else, `1e309` included, must match);
 * - a field left out or sent as null reads back as its default: null, 0 for counters, false for
 *   api_posted, "running" for status, and the server's `...T..:..:...ffffff+00:00` now for created_at.
 *
 * Where behaviours.md leaves a choice, either answer passes (a "maybe" verdict: a 422 on that field, or
 * the value stored exactly — never a changed value):
 * - limits it does not name: strings longer than 65,536 UTF-16 units, JSON nested more than 64 levels
 *   inside metrics_json/context_json; an event_id of "." or ".." (no URL can name it: see addressable);
 * - numbers JSON parses to ±Infinity (1e309) inside metrics_json/context_json (they cannot be stored
 *   as sent, so only a 422 really passes); lone surrogates inside them (it rules only on string fields);
 * - spellings beyond its lists: "+3" or " 3 " for integers, "t"/"Y"/" YES " for booleans; a leap second;
 * - associate-commit without commit_author/commit_timestamp may clear them or keep the old values;
 * - a malformed percent-escape in a path may be a 400 or taken literally (Starlette's unquote);
 * - a repeated single-valued query parameter counts by its last value (Starlette), `status` by all.
 * Bodies over 1 MiB (32 MiB for batch) must get a 413.
 */
import { Database } from "bun:sqlite";
import fc from "fast-check";

// ---------------------------------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------------------------------

/** What the harness needs of test/support/server.ts's TestServer. */
export interface FuzzTarget {
  base: string;
  dbPath: string;
}

export interface FuzzStats {
  /** Property executions (shrinking included). */
  cases: number;
  requests: number;
  /** Answers with a 5xx status. */
  serverErrors: number;
  /** Requests with no complete HTTP answer, and failed /health probes. */
  crashes: number;
  /** Executions that broke an invariant (shrinking included). */
  violations: number;
  /** Runs acknowledged (201, or 200 from batch) and then read back. */
  readBacks: number;
  /** Answers by status code. */
  statuses: Record<number, number>;
}

/** An invariant broken by the server: the message says what was sent, what was allowed and what came back. */
export class Violation extends Error {
  override name = "Violation";
}

interface Answer {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

type Json = Record<string, unknown>;

const RUNS = "/api/v1/runs";
/** TELEMETRY_MAX_BODY_BYTES and TELEMETRY_MAX_BATCH_BYTES at their defaults: larger bodies get a 413. */
const MAX_BODY_BYTES = 1_048_576;
const MAX_BATCH_BYTES = 33_554_432;
const MAX = Number.MAX_SAFE_INTEGER;
/** Text the server may refuse as too long (not in the contract; never silently truncated). */
const TEXT_LIMIT_TOLERANCE = 65_536;
/** Nesting inside metrics_json / context_json the server may refuse (not in the contract). */
const DEPTH_LIMIT_TOLERANCE = 64;
const SERVER_NOW = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;
const LEAKS: readonly [string, RegExp][] = [
  ["sqlite", /sqlite/i],
  ["stack trace", / {4}at /],
  ["/work/", /\/work\//],
  [".ts:", /\.ts:/],
];

// ---------------------------------------------------------------------------------------------------
// The contract's fields
// ---------------------------------------------------------------------------------------------------

const REQUIRED_TEXT = ["event_id", "run_id", "agent_name", "job_type"] as const;
const TIMESTAMP_FIELDS = ["start_time", "created_at", "end_time", "git_commit_timestamp", "api_posted_at"] as const;
const TEXT_FIELDS = [
  "agent_owner", "product", "product_family", "platform", "subdomain", "website", "website_section", "item_name",
  "input_summary", "output_summary", "source_ref", "target_ref", "error_summary", "error_details", "git_repo",
  "git_branch", "git_commit_hash", "git_run_tag", "git_commit_author", "host", "environment", "trigger_type",
  "insight_id", "parent_run_id",
] as const;
const COUNTER_FIELDS = ["items_discovered", "items_succeeded", "items_failed", "items_skipped", "duration_ms", "api_retry_count"] as const;
const JSON_FIELDS = ["metrics_json", "context_json"] as const;
const ALL_FIELDS: readonly string[] = [
  ...REQUIRED_TEXT, ...TIMESTAMP_FIELDS, ...TEXT_FIELDS, ...COUNTER_FIELDS, ...JSON_FIELDS, "status", "git_commit_source", "api_posted",
];
const REQUIRED: ReadonlySet<string> = new Set([...REQUIRED_TEXT, "start_time"]);
const PATCH_FIELDS: ReadonlySet<string> = new Set([
  "status", "end_time", "duration_ms", "error_summary", "error_details", "output_summary", "items_succeeded", "items_failed",
  "items_skipped", "metrics_json", "context_json", "git_commit_source", "git_commit_author", "git_commit_timestamp",
]);
/** Keys a RunRecord may carry besides the client's fields. */
const RECORD_KEYS: ReadonlySet<string> = new Set([...ALL_FIELDS, "id", "schema_version", "updated_at", "commit_url", "repo_url"]);
const CANONICAL_STATUSES = ["running", "success", "failure", "partial", "timeout", "cancelled"];
const STATUS_ALIASES: Readonly<Record<string, string>> = { failed: "failure", completed: "success", succeeded: "success" };
const FILTER_COLUMNS = ["agent_name", "status", "job_type", "parent_run_id", "run_id", "git_commit_hash", "environment", "host", "product", "website"];

function defaultOf(field: string): unknown {
  if ((COUNTER_FIELDS as readonly string[]).includes(field)) return 0;
  if (field === "api_posted") return false;
  if (field === "status") return "running";
  return null;
}

// ---------------------------------------------------------------------------------------------------
// JSON syntax trees and their serialisation
// ---------------------------------------------------------------------------------------------------

/** A JSON value as text to send: `lit` is sent verbatim (any number spelling, literals, pre-built deep text). */
export type JsonNode =
  | { t: "lit"; text: string }
  | { t: "str"; value: string }
  | { t: "arr"; items: JsonNode[] }
  | { t: "obj"; entries: [string, JsonNode][] };

/** How strings are escaped and whether whitespace is added: the server must read every spelling the same. */
export interface Style {
  escape: "none" | "non-ascii" | "all";
  spaced: boolean;
}

const lit = (text: string): JsonNode => ({ t: "lit", text });
const str = (value: string): JsonNode => ({ t: "str", value });
const obj = (entries: [string, JsonNode][]): JsonNode => ({ t: "obj", entries });
const PLAIN: Style = { escape: "none", spaced: false };

function quote(s: string, escape: Style["escape"]): string {
  const q = JSON.stringify(s); // escapes ", \, control characters and lone surrogates
  if (escape === "none") return q;
  const inner = q.slice(1, -1);
  const u = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  if (escape === "non-ascii") return `"${inner.replace(/[^\x00-\x7f]/g, u)}"`;
  // Every character as \uXXXX, keeping the escapes JSON.stringify already made.
  return `"${inner.replace(/\\u[0-9a-f]{4}|\\.|[^]/g, (m) => (m.length > 1 ? m : u(m)))}"`;
}

export function serialize(node: JsonNode, style: Style = PLAIN): string {
  const sp = style.spaced ? " " : "";
  switch (node.t) {
    case "lit":
      return node.text;
    case "str":
      return quote(node.value, style.escape);
    case "arr":
      return `[${sp}${node.items.map((n) => serialize(n, style)).join(`,${sp}`)}${sp}]`;
    case "obj":
      return `{${sp}${node.entries.map(([k, v]) => `${quote(k, style.escape)}${sp}:${sp}${serialize(v, style)}`).join(`,${sp}`)}${sp}}`;
  }
}

function setEntry(entries: [string, JsonNode][], key: string, value: JsonNode): void {
  for (let i = entries.length - 1; i >= 0; i--) {
    if (entries[i]![0] === key) {
      entries[i] = [key, value];
      return;
    }
  }
  entries.push([key, value]);
}

function lastEntry(entries: readonly [string, JsonNode][], key: string): JsonNode | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i]![0] === key) return entries[i]![1];
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------

const NASTY_TEXT = [
  " ", "  leading", "trailing  ", "\t\n\r", "\u0000", "a\u0000b", "\u0000\u0000\u0000", "\u0001\u001f\u007f\u0080\u009f",
  "é", "e\u0301", "ﬁ", "İı", "ß", "Σς", "日本語", "😀", "👨‍👩‍👧", "\u202eevil", "\ufeffbom", "\u2028\u2029", "\uffff", "\ufffd", "\u{10ffff}", "\u{1f600}\u0000\u{1f600}",
  "'", "\"", "\\", "''", "'; DROP TABLE agent_runs; --", "\" OR \"1\"=\"1", "1; SELECT * FROM sqlite_master", "%", "_", "%_%", "a%",
  "?", "?1", ":name", "@p", "$1", "`", "[x]", "--", "/*", "*/", "\\x00", "\\u0000",
  "../../../etc/passwd", "..\\..\\windows\\system32", "/", "//", "./", "..", ".", "~", "C:\\", "file:///etc/passwd", "/dev/null",
  "%2e%2e%2f", "%00", "%2F", "a/b", "a?b=c#d", "a%2Fb", "%E2%82%AC", "%zz",
  "__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "__defineGetter__",
  "NaN", "Infinity", "-Infinity", "null", "undefined", "true", "-0", "1e309", "0x1F", "３",
  "<script>alert(1)</script>", "${jndi:ldap://x}", "{{7*7}}", "\r\nSet-Cookie: x=1",
];

/** Well-formed text of every kind: ASCII, graphemes, any code point (NUL and controls included), nasty constants. */
const textArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 16 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_TEXT) },
);
const nonEmptyTextArb = textArb.filter((s) => s.length > 0);
const nameArb = fc.oneof(fc.constantFrom("agent-a", "agent-b", "job-x", "__proto__", "constructor", "ågent", "a'b", "a\u0000b", "日本"), nonEmptyTextArb);
const idArb = fc.oneof(
  { weight: 3, arbitrary: fc.uuid() },
  { weight: 3, arbitrary: nonEmptyTextArb },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ".", "..", "...", "a/b", "/", "//", "a/", "/a", "%", "%2F", "%252F", "%zz", "a%2Fb", "a?b", "a#b", "a b", " ", "+", "a+b", "batch",
      "commit-url", "repo-url", "associate-commit", "\\", "a\\b", "~", "\u0000", "é", "😀", "..%2F..%2Fhealth", "%2e%2e", ";", "a;b", "&", "=",
    ),
  },
);
/** A string with at least one unpaired surrogate. */
const loneSurrogateArb = fc
  .tuple(fc.string({ maxLength: 4 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 4 }))
  .map(([a, c, b]) => a + String.fromCharCode(c) + b)
  .filter((s) => !s.isWellFormed());

const pad = (n: number, w: number) => String(n).padStart(w, "0");
function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** A valid RFC 3339 date-time with a zone, in every spelling behaviours.md allows, years 0000-9999. */
const timestampArb: fc.Arbitrary<string> = fc
  .record({
    year: fc.oneof(fc.constantFrom(0, 1, 1969, 1970, 2000, 2024, 2026, 9999), fc.integer({ min: 0, max: 9999 })),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 31 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    fraction: fc.option(fc.stringMatching(/^\d{1,9}$/), { nil: undefined }),
    sep: fc.constantFrom("T", "t", " "),
    zone: fc.oneof(
      fc.constantFrom("Z", "z", "+00:00", "-00:00", "+23:59", "-23:59", "+0530", "-0800"),
      fc.tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.boolean())
        .map(([s, h, m, colon]) => `${s}${pad(h, 2)}${colon ? ":" : ""}${pad(m, 2)}`),
    ),
  })
  .map((p) =>
    `${pad(p.year, 4)}-${pad(p.month, 2)}-${pad(Math.min(p.day, daysInMonth(p.year, p.month)), 2)}${p.sep}` +
    `${pad(p.hour, 2)}:${pad(p.minute, 2)}:${pad(p.second, 2)}${p.fraction === undefined ? "" : `.${p.fraction}`}${p.zone}`);

/** Timestamps that are not allowed: impossible calendar values, no zone, out-of-range offsets, other syntaxes. */
const BAD_TIMESTAMPS = [
  "2026-02-29T00:00:00Z", "2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z", "1900-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
  "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T00:00:00+24:00",
  "2026-01-01T00:00:00+23:60", "2026-01-01T00:00:00-99:99", "2026-01-01T00:00:00", "2026-01-01", "2026-01-01T00:00:00.1234567890Z",
  "2026-01-01T00:00:00,5Z", "+12026-01-01T00:00:00Z", "-0001-01-01T00:00:00Z", "２０２６-01-01T00:00:00Z", "2026-1-1T0:0:0Z",
  "2026-01-01T00:00:00+5", "2026-01-01T00:00:00 Z", "2026-01-01TT00:00:00Z", "2026-01-01T00:00:00Z ", " 2026-01-01T00:00:00Z",
  "2026-01-01T00:00:00.Z", "1e309", "0", "", "now", "2026-01-05T18:40:27Z\u0000", "2026-01-01T00:00:00+01:00:00",
];

/** An integer field's value in an accepted spelling: numbers, integral floats, decimal strings. */
const counterNodeArb: fc.Arbitrary<JsonNode> = fc.oneof(
  fc.constantFrom(0, 1, 42, MAX).map((n) => lit(String(n))),
  fc.maxSafeNat().map((n) => lit(String(n))),
  fc.constantFrom("3.0", "1e2", "1E2", "100e-2", "0.0", "-0", "-0.0", "0e5", "9007199254740991.0", "4.0e0", "0.5e1").map(lit),
  fc.constantFrom("3", "0", "-0", "007", "9007199254740991", "00000000000000000000000000042").map(str),
  fc.maxSafeNat().map((n) => str(String(n))),
);
const boolNodeArb: fc.Arbitrary<JsonNode> = fc.oneof(
  fc.constantFrom("true", "false", "0", "1", "1.0", "0e0").map(lit),
  fc.constantFrom("true", "false", "1", "0", "yes", "no", "on", "off").map(str),
);

const NUMBER_TOKENS = [
  "0", "-0", "0.0", "-0.0", "1", "-1", "1.5", "-1.5e-7", "1e308", "-1e308", "5e-324", "1e-400", "2.2250738585072014e-308",
  "12345678901234567890", "9007199254740993", "-9007199254740993", "0.1", "1E+2", "123456789.123456789",
];
const JSON_KEYS = [
  "", "a", "0", "1", "10", "01", "-1", "1.5", "4294967294", "4294967295", "9007199254740993", "__proto__", "constructor",
  "prototype", "toString", "\u0000", "a\u0000b", "😀", "é", "e\u0301", " ", "$where", "'", "\"", "\\",
];
const jsonKeyArb = fc.oneof(fc.constantFrom(...JSON_KEYS), textArb);
const scalarNodeArb: fc.Arbitrary<JsonNode> = fc.oneof(
  textArb.map(str),
  fc.constantFrom(...NUMBER_TOKENS).map(lit),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => lit(Object.is(d, -0) ? "-0" : String(d))),
  fc.integer().map((n) => lit(String(n))),
  fc.constantFrom("true", "false", "null").map(lit),
);
const jsonTree = fc.letrec<{ node: JsonNode; arr: JsonNode; obj: JsonNode }>((tie) => ({
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalarNodeArb, tie("arr"), tie("obj")),
  arr: fc.array(tie("node"), { maxLength: 4 }).map((items): JsonNode => ({ t: "arr", items })),
  obj: fc.array(fc.tuple(jsonKeyArb, tie("node")), { maxLength: 4 }).map((entries): JsonNode => ({ t: "obj", entries })),
}));
const jsonNodeArb = jsonTree.node;
const jsonObjectArb = jsonTree.obj;

/** Text nested `depth` levels deep, as `[[...]]` or `{"a":{"a":...1}}`. */
function deepText(depth: number, kind: "array" | "object"): string {
  return kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}
const deepNodeArb: fc.Arbitrary<JsonNode> = fc
  .tuple(fc.constantFrom(2, 63, 64, 65, 1_000, 10_000, 100_000), fc.constantFrom("array" as const, "object" as const))
  .map(([depth, kind]) => lit(deepText(depth, kind)));

/** A metrics_json / context_json value: an object, sometimes one nested to the edge of the limits. */
const metricsArb: fc.Arbitrary<JsonNode> = fc.oneof(
  { weight: 6, arbitrary: jsonObjectArb },
  { weight: 1, arbitrary: fc.constantFrom(2, 32, 63).map((d) => lit(deepText(d, "object"))) },
  { weight: 1, arbitrary: fc.constant(lit('{"z":1,"10":2,"2":3,"__proto__":{"x":1},"constructor":null,"":[]}')) },
);

/** git_repo values whose credential handling the contract fixes, plus any text. */
const gitRepoArb: fc.Arbitrary<string> = fc.oneof(
  textArb,
  fc
    .record({
      scheme: fc.constantFrom("https", "http", "HTTPS", "git", "ssh", "git+ssh", "git+https"),
      user: fc.option(fc.constantFrom("user", "x-access-token", "oauth2", "git", "u%40x"), { nil: undefined }),
      password: fc.option(fc.constantFrom("ghp_S3cr3tT0ken", "p@ss:w?rd#1", "tok%2Fen", "glpat-abcdef"), { nil: undefined }),
      host: fc.constantFrom("github.com", "gitlab.com", "bitbucket.org", "www.github.com", "GitHub.com", "example.com", "github.com:8443"),
      path: fc.constantFrom("/owner/repo", "/owner/repo.git", "/group/sub/repo", "/owner/repo/", "", "/owner/repo?x=1#f"),
    })
    .map((p) => `${p.scheme}://${p.user === undefined ? "" : p.password === undefined ? `${p.user}@` : `${p.user}:${p.password}@`}${p.host}${p.path}`),
  fc.constantFrom("git@github.com:owner/repo.git", "git@gitlab.com:group/sub/repo.git", "https://evil.example/github.com/a/b", "  https://tok@github.com/a/b"),
);

/** Optional fields of a valid run: each present with a valid spelling, or explicitly null. */
const optionalFieldArbs: Record<string, fc.Arbitrary<JsonNode>> = {};
for (const f of TEXT_FIELDS) optionalFieldArbs[f] = f === "git_repo" ? gitRepoArb.map(str) : textArb.map(str);
for (const f of TIMESTAMP_FIELDS) if (f !== "start_time") optionalFieldArbs[f] = timestampArb.map(str);
for (const f of COUNTER_FIELDS) optionalFieldArbs[f] = counterNodeArb;
for (const f of JSON_FIELDS) optionalFieldArbs[f] = metricsArb;
optionalFieldArbs.status = fc.constantFrom(...CANONICAL_STATUSES, ...Object.keys(STATUS_ALIASES)).map(str);
optionalFieldArbs.git_commit_source = fc.constantFrom("manual", "llm", "ci").map(str);
optionalFieldArbs.api_posted = boolNodeArb;
const optionalOrNull = Object.fromEntries(
  Object.entries(optionalFieldArbs).map(([k, a]) => [k, fc.oneof({ weight: 9, arbitrary: a }, { weight: 1, arbitrary: fc.constant(lit("null")) })]),
);
const UNKNOWN_KEYS = ["id", "schema_version", "updated_at", "commit_url", "repo_url", "__proto__", "constructor", "extra", "metrics", "EVENT_ID", "event_id "];

export interface RunCase {
  entries: [string, JsonNode][];
  style: Style;
}
const styleArb: fc.Arbitrary<Style> = fc.record({
  escape: fc.constantFrom("none" as const, "none" as const, "non-ascii" as const, "all" as const),
  spaced: fc.boolean(),
});

/** A valid run (by the contract) with a random choice of optional fields, unknown fields and key order. */
export const validRunArb: fc.Arbitrary<RunCase> = fc
  .record({
    required: fc.record({ event_id: idArb, run_id: nonEmptyTextArb, agent_name: nameArb, job_type: nameArb, start_time: timestampArb }),
    optional: fc.record(optionalOrNull, { requiredKeys: [] }),
    unknown: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...UNKNOWN_KEYS), textArb), jsonNodeArb), { maxLength: 2 }),
    rotate: fc.nat(),
    style: styleArb,
  })
  .map(({ required, optional, unknown, rotate, style }) => {
    const entries: [string, JsonNode][] = [
      ...Object.entries(required).map(([k, v]): [string, JsonNode] => [k, str(v)]),
      ...Object.entries(optional).map(([k, v]): [string, JsonNode] => [k, v as JsonNode]),
      ...unknown.filter(([k]) => !ALL_FIELDS.includes(k)),
    ];
    const r = rotate % entries.length;
    return { entries: [...entries.slice(r), ...entries.slice(0, r)], style };
  });

/** Values that are wrong for most fields (and right for a few): wrong types, edge numbers, NaN-like strings, bad text. */
const badValueArb: fc.Arbitrary<JsonNode> = fc.oneof(
  fc.constantFrom(
    "0", "-1", "1.5", "1e309", "-1e309", "-0", "9007199254740991", "9007199254740992", "18446744073709551616", "1e2", "3.0", "1E-7",
    "true", "false", "null", "[]", "{}", "[1]", '{"a":1}', '[{"a":1}]', '""', '" "', '"[]"', '"{}"',
  ).map(lit),
  fc.constantFrom(
    "", "NaN", "nan", "Infinity", "-Infinity", "1e3", "0x10", "3.0", " 3", "+3", "-3", "３", "9007199254740992", "-0", "1_000",
    "true", "yes", "t", "on ", "Y", "TRUE", "ok", "FAILED", "Success", "failed", "completed", "unknown", "manual", "MANUAL", "llm ", "ci",
  ).map(str),
  fc.constantFrom(...BAD_TIMESTAMPS).map(str),
  timestampArb.map(str),
  loneSurrogateArb.map(str),
  textArb.map(str),
  fc.integer({ min: -(2 ** 60), max: 2 ** 60 }).map((n) => lit(String(n))),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => lit(String(d))),
  jsonNodeArb,
  deepNodeArb,
  fc.constant(str("x".repeat(TEXT_LIMIT_TOLERANCE + 1))),
  fc.constant(obj([["big", lit("1e309")], ["neg", lit("-1e400")]])),
  fc.constant(obj([["k", str("\ud800")]])),
);

type Mutation =
  | { op: "drop"; field: string }
  | { op: "set"; field: string; value: JsonNode }
  | { op: "repeat"; field: string; value: JsonNode }
  | { op: "unknown"; key: string; value: JsonNode };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("drop" as const), field: fc.constantFrom(...REQUIRED, ...ALL_FIELDS) }),
  { weight: 4, arbitrary: fc.record({ op: fc.constant("set" as const), field: fc.constantFrom(...ALL_FIELDS), value: badValueArb }) },
  fc.record({ op: fc.constant("repeat" as const), field: fc.constantFrom(...ALL_FIELDS), value: badValueArb }),
  fc.record({ op: fc.constant("unknown" as const), key: fc.oneof(fc.constantFrom(...UNKNOWN_KEYS), textArb, loneSurrogateArb), value: fc.oneof(jsonNodeArb, deepNodeArb) }),
);

function applyMutations(run: RunCase, mutations: readonly Mutation[]): RunCase {
  let entries = run.entries.map(([k, v]): [string, JsonNode] => [k, v]);
  for (const m of mutations) {
    if (m.op === "drop") entries = entries.filter(([k]) => k !== m.field);
    else if (m.op === "set") setEntry(entries, m.field, m.value);
    else if (m.op === "repeat") entries.push([m.field, m.value]);
    else entries.push([m.key, m.value]);
  }
  return { entries, style: run.style };
}

export const mutatedRunArb: fc.Arbitrary<RunCase> = fc
  .tuple(validRunArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
  .map(([run, mutations]) => applyMutations(run, mutations));

// ---------------------------------------------------------------------------------------------------
// The oracle: behaviours.md applied to what was sent
// ---------------------------------------------------------------------------------------------------

/** ok: must be accepted as `value`; maybe: may be refused (422 on the field) or accepted as `value`; bad: must be refused. */
type Verdict = { kind: "ok"; value: unknown } | { kind: "maybe"; value: unknown; why: string } | { kind: "bad"; why: string };
const ok = (value: unknown): Verdict => ({ kind: "ok", value });
const maybe = (value: unknown, why: string): Verdict => ({ kind: "maybe", value, why });
const bad = (why: string): Verdict => ({ kind: "bad", why });

const ZONED = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;
const FILTER_TS = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?$/;

/**
 * The instant of a timestamp in epoch microseconds (digits 7-9 of the fraction ignored), "leap" for a
 * valid :60 second, or null. `zoned` demands a zone (writes); otherwise a zone-less date-time or a bare
 * date is read as UTC (filters). Calendar arithmetic by Date's setUTCFullYear, independent of the server.
 */
function instantOf(text: string, zoned: boolean): bigint | "leap" | null {
  const m = (zoned ? ZONED : FILTER_TS).exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) return null;
  const offset = m[9] === undefined ? 0 : (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  if (m[9] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59)) return null;
  if (second === 60) return "leap";
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const fraction = (m[7] ?? "").slice(0, 6).padEnd(6, "0");
  return (BigInt(date.getTime()) - BigInt(offset) * 60_000n) * 1000n + BigInt(fraction);
}

/** Deepest nesting of objects/arrays (the value itself is level 1); iterative, so 100,000 levels are fine. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (depth > max) max = depth;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return max;
}

/** Every string (keys included) inside a JSON value, iteratively. */
function* stringsIn(value: unknown): Generator<string> {
  const stack: unknown[] = [value];
  while (stack.length) {
    const node = stack.pop();
    if (typeof node === "string") yield node;
    else if (typeof node === "object" && node !== null) {
      for (const [k, v] of Object.entries(node)) {
        if (!Array.isArray(node)) yield k;
        stack.push(v);
      }
    }
  }
}

function hasNonFinite(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const node = stack.pop();
    if (typeof node === "number" && !Number.isFinite(node)) return true;
    if (typeof node === "object" && node !== null) for (const child of Object.values(node)) stack.push(child);
  }
  return false;
}

/** Deep equality of parsed JSON (own keys in any order; -0 equals 0); iterative. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length) {
    const [x, y] = stack.pop()!;
    if (x === y) continue;
    if (typeof x !== "object" || typeof y !== "object" || x === null || y === null || Array.isArray(x) !== Array.isArray(y)) return false;
    const kx = Object.keys(x);
    if (kx.length !== Object.keys(y).length) return false;
    for (const k of kx) {
      if (!Object.hasOwn(y, k)) return false;
      stack.push([(x as Json)[k], (y as Json)[k]]);
    }
  }
  return true;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function judgeText(raw: unknown, required: boolean): Verdict {
  if (typeof raw !== "string") return bad("not a string");
  if (!raw.isWellFormed()) return bad("lone surrogate");
  if (required && raw.length === 0) return bad("empty required string");
  if (raw.length > TEXT_LIMIT_TOLERANCE) return maybe(raw, "longer than 65,536 characters");
  return ok(raw);
}

const CONTRACT_BOOLS: Readonly<Record<string, boolean>> = { true: true, false: false, "1": true, "0": false, yes: true, no: false, on: true, off: false };
const LENIENT_BOOLS: Readonly<Record<string, boolean>> = { ...CONTRACT_BOOLS, t: true, y: true, f: false, n: false };

/** The verdict for one known field of a run (or PATCH) whose value is not null. */
function judgeField(field: string, raw: unknown): Verdict {
  if ((TIMESTAMP_FIELDS as readonly string[]).includes(field)) {
    if (typeof raw !== "string") return bad("not a string");
    const instant = raw.isWellFormed() ? instantOf(raw, true) : null;
    if (instant === null) return bad("not an RFC 3339 date-time with a zone");
    return instant === "leap" ? maybe(raw, "leap second") : ok(raw);
  }
  if ((COUNTER_FIELDS as readonly string[]).includes(field)) {
    if (typeof raw === "number") return Number.isInteger(raw) && raw >= 0 && raw <= MAX ? ok(raw + 0) : bad("not an integer in 0..2^53-1");
    if (typeof raw === "string") {
      const m = /^\s*([+-]?)(\d+)\s*$/.exec(raw);
      if (!m) return bad("not a decimal integer string");
      const n = Number(m[2]);
      if ((m[1] === "-" && n !== 0) || n > MAX) return bad("out of range");
      return /^-?\d+$/.test(raw) ? ok(n) : maybe(n, "decimal string with a sign or spaces");
    }
    return bad("not an integer");
  }
  if ((JSON_FIELDS as readonly string[]).includes(field)) {
    if (!isObject(raw)) return bad("not an object");
    if (depthOf(raw) > DEPTH_LIMIT_TOLERANCE) return maybe(raw, "nested deeper than 64 levels");
    for (const s of stringsIn(raw)) if (!s.isWellFormed()) return maybe(raw, "lone surrogate inside a JSON object");
    // 1e309 parses to Infinity, which JSON cannot carry back: refusing it is fine, storing something else is not.
    if (hasNonFinite(raw)) return maybe(raw, "a number beyond the double range (e.g. 1e309)");
    return ok(raw);
  }
  switch (field) {
    case "status":
      if (typeof raw !== "string") return bad("not a string");
      if (CANONICAL_STATUSES.includes(raw)) return ok(raw);
      return Object.hasOwn(STATUS_ALIASES, raw) ? ok(STATUS_ALIASES[raw]) : bad("not a status");
    case "git_commit_source":
      return typeof raw === "string" && ["manual", "llm", "ci"].includes(raw) ? ok(raw) : bad("not manual|llm|ci");
    case "api_posted": {
      if (typeof raw === "boolean") return ok(raw);
      if (raw === 0 || raw === 1) return ok(raw === 1);
      if (typeof raw !== "string") return bad("not a boolean");
      if (Object.hasOwn(CONTRACT_BOOLS, raw)) return ok(CONTRACT_BOOLS[raw]);
      const word = raw.trim().toLowerCase();
      return Object.hasOwn(LENIENT_BOOLS, word) ? maybe(LENIENT_BOOLS[word], "boolean spelling beyond the contract's list") : bad("not a boolean");
    }
    case "event_id": {
      const text = judgeText(raw, true);
      return text.kind === "ok" && !addressable(raw as string) ? maybe(raw, "an event_id no URL can name") : text;
    }
    default:
      return judgeText(raw, REQUIRED.has(field));
  }
}

interface Judgement {
  /** False when the body is not a JSON object (a 422 with loc ["body"] or ["body", index]). */
  object: boolean;
  verdicts: Map<string, Verdict>;
  /** Known, non-null fields in the client's key order (PATCH reports them so). */
  order: string[];
  raw: unknown;
}

function judgeObject(body: unknown, fields: ReadonlySet<string> | readonly string[], required: ReadonlySet<string>): Judgement {
  const verdicts = new Map<string, Verdict>();
  if (!isObject(body)) return { object: false, verdicts, order: [], raw: body };
  const known = new Set(fields);
  const order: string[] = [];
  for (const key of Object.keys(body)) {
    if (!known.has(key)) continue;
    const value = body[key];
    if (value === null) {
      if (required.has(key)) verdicts.set(key, bad("null"));
      continue;
    }
    verdicts.set(key, judgeField(key, value));
    order.push(key);
  }
  for (const key of required) if (!Object.hasOwn(body, key)) verdicts.set(key, bad("missing"));
  return { object: true, verdicts, order, raw: body };
}

const judgeRun = (body: unknown) => judgeObject(body, ALL_FIELDS, REQUIRED);
const judgePatch = (body: unknown) => judgeObject(body, PATCH_FIELDS, new Set());

function judgeAssociate(body: unknown): Judgement {
  const verdicts = new Map<string, Verdict>();
  if (!isObject(body)) return { object: false, verdicts, order: [], raw: body };
  const hash = body.commit_hash;
  verdicts.set("commit_hash", typeof hash === "string" && /^(?:[0-9a-fA-F]{7,40}|[0-9a-fA-F]{64})$/.test(hash) ? ok(hash) : bad(hash === undefined ? "missing" : "not a commit hash"));
  const source = body.commit_source;
  verdicts.set("commit_source", typeof source === "string" && ["manual", "llm", "ci"].includes(source) ? ok(source) : bad("not manual|llm|ci"));
  if (body.commit_author !== undefined && body.commit_author !== null) verdicts.set("commit_author", judgeText(body.commit_author, false));
  if (body.commit_timestamp !== undefined && body.commit_timestamp !== null) verdicts.set("commit_timestamp", judgeField("git_commit_timestamp", body.commit_timestamp));
  return { object: true, verdicts, order: [], raw: body };
}

const badFields = (j: Judgement) => [...j.verdicts].filter(([, v]) => v.kind === "bad").map(([k]) => k);
const maybeFields = (j: Judgement) => [...j.verdicts].filter(([, v]) => v.kind === "maybe").map(([k]) => k);
const mustRefuse = (j: Judgement) => !j.object || badFields(j).length > 0;
const mayRefuse = (j: Judgement) => mustRefuse(j) || maybeFields(j).length > 0;

/** What GET must return for a run created from an accepted judgement. `git_repo_sent` carries the value before credential removal. */
interface ExpectedRun {
  fields: Json;
  /** Set once the run failed to read back: later checks no longer compare it (the failure was reported). */
  poisoned?: boolean;
  /** Fields the contract leaves open between a few values (read back once, then exact). */
  anyOf?: Record<string, unknown[]>;
  gitRepoSent: string | null;
  createdAtFromServer: boolean;
}

function expectedFromRun(j: Judgement): ExpectedRun {
  const fields: Json = {};
  for (const f of ALL_FIELDS) {
    const v = j.verdicts.get(f);
    fields[f] = v && v.kind !== "bad" ? v.value : defaultOf(f);
  }
  const repo = fields.git_repo;
  return { fields, gitRepoSent: typeof repo === "string" ? repo : null, createdAtFromServer: fields.created_at === null };
}

/**
 * behaviours.md: "Credentials in a URL (`https://user:token@github.com/..`) are removed from git_repo".
 * Allowed: the value unchanged, or with exactly a `userinfo@` right after `scheme://` removed. Required:
 * removal when the userinfo holds a password (`user:secret@`) or an http(s)/git token (`token@`).
 */
function gitRepoProblem(sent: string, stored: unknown): string | null {
  if (typeof stored !== "string") return `git_repo: expected a string, got ${show(stored)}`;
  const m = /^(\s*[A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/]*)@(.*)$/s.exec(sent);
  if (!m) return stored === sent ? null : `git_repo: expected it unchanged (${show(sent)}), got ${show(stored)}`;
  const [, prefix, userinfo, rest] = m as unknown as [string, string, string, string];
  const stripped = prefix + rest;
  const scheme = prefix.trim().slice(0, -3).toLowerCase();
  const sshUserOnly = ["ssh", "git+ssh", "ssh+git"].includes(scheme) && !userinfo.includes(":");
  if (stored === stripped) return null;
  if (stored === sent && sshUserOnly) return null;
  return `git_repo: expected the credentials removed (${show(stripped)}${sshUserOnly ? ` or unchanged` : ""}), got ${show(stored)}`;
}

/** Every difference between a RunRecord and the expectation (empty when it reads back as it must). */
function recordProblems(expected: ExpectedRun, record: unknown, unknownKeys: readonly string[] = []): string[] {
  if (!isObject(record)) return [`expected a RunRecord object, got ${show(record)}`];
  const problems: string[] = [];
  for (const f of ALL_FIELDS) {
    if (!Object.hasOwn(record, f)) {
      problems.push(`${f}: missing from the record`);
      continue;
    }
    const want = expected.fields[f];
    const got = record[f];
    const options = expected.anyOf?.[f];
    if (options) {
      if (!options.includes(got)) problems.push(`${f}: expected one of ${options.map((o) => show(o)).join(", ")}, got ${show(got)}`);
    } else if (f === "created_at" && expected.createdAtFromServer) {
      if (typeof got !== "string" || !SERVER_NOW.test(got)) problems.push(`created_at: expected the server's now (…T..:..:…ffffff+00:00), got ${show(got)}`);
    } else if (f === "git_repo" && expected.gitRepoSent !== null) {
      const p = gitRepoProblem(expected.gitRepoSent, got);
      if (p) problems.push(p);
    } else if ((JSON_FIELDS as readonly string[]).includes(f)) {
      if (!jsonEqual(want, got)) problems.push(`${f}: expected ${show(want)}, got ${show(got)}`);
    } else if (want !== got) {
      problems.push(`${f}: expected ${show(want)}, got ${show(got)}`);
    }
  }
  for (const f of JSON_FIELDS) if (Object.hasOwn(record, `${f}_parse_error`)) problems.push(`${f}_parse_error present: ${show(record[`${f}_parse_error`])}`);
  if (typeof record.id !== "number" || !Number.isInteger(record.id) || record.id < 1) problems.push(`id: expected a positive integer, got ${show(record.id)}`);
  if (typeof record.updated_at !== "string" || !SERVER_NOW.test(record.updated_at)) problems.push(`updated_at: expected the server's now, got ${show(record.updated_at)}`);
  for (const key of ["commit_url", "repo_url"]) {
    const url = record[key];
    if (url !== null && (typeof url !== "string" || !/^https:\/\/(github\.com|gitlab\.com|bitbucket\.org)\//.test(url))) {
      problems.push(`${key}: expected null or a github/gitlab/bitbucket URL, got ${show(url)}`);
    }
  }
  const password = expected.gitRepoSent === null ? undefined : /:\/\/[^/:@]*:([^/]{4,})@/.exec(expected.gitRepoSent)?.[1];
  if (password !== undefined) {
    for (const key of ["git_repo", "commit_url", "repo_url"]) {
      if (typeof record[key] === "string" && (record[key] as string).includes(password)) problems.push(`${key} still holds the password ${show(password)}`);
    }
  }
  for (const key of unknownKeys) {
    if (!RECORD_KEYS.has(key) && Object.hasOwn(record, key)) problems.push(`unknown field ${show(key)} was stored and returned`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Showing what was sent
// ---------------------------------------------------------------------------------------------------

/** A short printable form of any value (strings JSON-escaped, so NULs and lone surrogates are visible). */
export function show(value: unknown, limit = 300): string {
  let text: string;
  try {
    // Numbers JSON cannot spell (Infinity from 1e309, -0) are shown as <Infinity> and <-0>.
    const special = (v: unknown) => (typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0)) ? `<${Object.is(v, -0) ? "-0" : v}>` : v);
    text = typeof value === "bigint" ? `${value}n` : value === undefined ? "undefined" : JSON.stringify(special(value), (_k, v) => special(v));
  } catch {
    text = `<${typeof value} too deep to print>`;
  }
  return text.length > limit ? `${text.slice(0, limit)}…(${text.length} chars)` : text;
}

/** A Python-style bytes literal (b"..."), long middles elided: paste it into requests.post(data=...). */
export function showBytes(bytes: Uint8Array, limit = 1200): string {
  let out = "";
  const emit = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const b = bytes[i]!;
      if (b === 0x22) out += '\\"';
      else if (b === 0x5c) out += "\\\\";
      else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
      else out += `\\x${b.toString(16).padStart(2, "0")}`;
    }
  };
  if (bytes.length <= limit) emit(0, bytes.length);
  else {
    emit(0, limit / 2);
    out += `"…(${bytes.length - limit} bytes elided)…b"`;
    emit(bytes.length - limit / 2, bytes.length);
  }
  return `b"${out}" (${bytes.length} bytes)`;
}

// ---------------------------------------------------------------------------------------------------
// The harness: requests, generic invariants, the registry of stored runs
// ---------------------------------------------------------------------------------------------------

export interface HarnessOptions {
  /** /health is probed after this many cases. */
  healthEvery?: number;
  /** Longest wait for one answer before it counts as a crash. */
  timeoutMs?: number;
}

export class FuzzHarness {
  readonly stats: FuzzStats = { cases: 0, requests: 0, serverErrors: 0, crashes: 0, violations: 0, readBacks: 0, statuses: {} };
  /** event_id → what GET must return, for every run the server acknowledged. */
  readonly runs = new Map<string, ExpectedRun>();
  readonly ids: string[] = [];
  /** Leak patterns some request carried: stored data may echo them in later GET answers. */
  private readonly tainted = new Set<string>();
  private nonce = 0;
  private readonly healthEvery: number;
  private readonly timeoutMs: number;

  constructor(readonly server: FuzzTarget, options: HarnessOptions = {}) {
    this.healthEvery = options.healthEvery ?? 100;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Runs one property execution: counts it, counts a violation, probes /health every `healthEvery` cases. */
  async runCase(body: () => Promise<void>): Promise<void> {
    this.stats.cases++;
    try {
      await body();
      if (this.stats.cases % this.healthEvery === 0) await this.health();
    } catch (error) {
      this.stats.violations++;
      throw error;
    }
  }

  /** "Never a crash": /health answers 200 with status ok. */
  async health(): Promise<void> {
    let status = 0;
    let text = "";
    try {
      const response = await fetch(`${this.server.base}/health`, { signal: AbortSignal.timeout(this.timeoutMs) });
      status = response.status;
      text = await response.text();
      if (status === 200 && (JSON.parse(text) as Json).status === "ok") return;
    } catch (error) {
      text = String(error);
    }
    this.stats.crashes++;
    throw new Violation(`/health after ${this.stats.cases} cases: expected 200 {"status":"ok",…}, got ${status} ${text.slice(0, 300)}`);
  }

  /** An event_id no acknowledged run has: `id` itself, or `id~n`. */
  freshId(id: string): string {
    if (!this.runs.has(id)) return id;
    return `${id}~${++this.nonce}`;
  }

  remember(id: string, expected: ExpectedRun): void {
    if (!this.runs.has(id) && addressable(id)) this.ids.push(id);
    this.runs.set(id, expected);
  }

  knownId(index: number): string | undefined {
    return this.ids.length ? this.ids[index % this.ids.length] : undefined;
  }

  /** Sends one request and checks what every answer must satisfy; throws a Violation describing it otherwise. */
  async send(method: string, path: string, body?: string | Uint8Array, readsStored = false): Promise<Answer> {
    const init: RequestInit = { method, signal: AbortSignal.timeout(this.timeoutMs) };
    if (body !== undefined) {
      init.body = body;
      init.headers = { "content-type": "application/json" };
    }
    const request = `${method} ${path}${body === undefined ? "" : ` body ${typeof body === "string" ? show(body, 2000) : showBytes(body)}`}`;
    this.stats.requests++;
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.server.base + path, init);
      text = await response.text();
    } catch (error) {
      this.stats.crashes++;
      throw new Violation(`no complete HTTP answer to ${request}: ${String(error)}`);
    }
    this.stats.statuses[response.status] = (this.stats.statuses[response.status] ?? 0) + 1;
    const fail = (what: string): never => {
      throw new Violation(`${what}\n  request: ${request}\n  answer: ${response.status} ${text.length > 2000 ? `${text.slice(0, 2000)}…` : text}`);
    };
    if (response.status >= 500) {
      this.stats.serverErrors++;
      fail(`5xx answer`);
    }
    const type = response.headers.get("content-type") ?? "";
    if (!type.toLowerCase().startsWith("application/json")) fail(`content-type is ${show(type)}, not application/json`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      fail("the body is not JSON");
    }
    if (response.status >= 400) {
      if (!isObject(json) || !Object.hasOwn(json, "detail")) fail("a 4xx body without `detail`");
      const detail = (json as Json).detail;
      if (response.status === 422) {
        const wellFormed = Array.isArray(detail) && detail.length > 0 && detail.every((d) =>
          isObject(d) && typeof d.type === "string" && typeof d.msg === "string" && Array.isArray(d.loc) && d.loc.every((l) => typeof l === "string" || typeof l === "number"));
        if (!wellFormed) fail("a 422 whose detail is not a non-empty array of {type, loc, msg}");
      } else if (typeof detail !== "string") {
        fail("a non-422 4xx whose detail is not a string");
      }
    }
    // Requests taint patterns for this answer; GET answers may also echo what earlier requests stored.
    const requestText = `${safeDecode(path)}\n${body === undefined ? "" : typeof body === "string" ? body : new TextDecoder().decode(body)}`;
    const parsedStrings = body === undefined ? "" : stringsOfBody(body);
    const scrubbed = text.split(JSON.stringify(this.server.dbPath).slice(1, -1)).join("");
    // GETs and every 2xx (associate-commit echoes the stored run_id) may carry text stored by earlier requests.
    const echoesStored = readsStored || response.status < 400;
    for (const [name, pattern] of LEAKS) {
      const inRequest = pattern.test(requestText) || pattern.test(parsedStrings);
      if (inRequest) this.tainted.add(name);
      if (pattern.test(scrubbed) && !inRequest && !(echoesStored && this.tainted.has(name))) fail(`the answer leaks ${show(name)} (stack trace, SQL or file path)`);
    }
    return { status: response.status, text, json, headers: response.headers };
  }

  /** GET the run by its event_id (percent-encoded with encodeURIComponent) and compare it with what was acknowledged. */
  async readBack(id: string, unknownKeys: readonly string[] = []): Promise<void> {
    const expected = this.runs.get(id);
    if (!expected) throw new Violation(`internal: no expectation for ${show(id)}`);
    if (expected.poisoned) return;
    this.stats.readBacks++;
    let record: unknown;
    const encoded = encodeURIComponent(id);
    if (!addressable(id)) {
      // Not reachable by path (see addressable): found through the list instead.
      record = await this.findInList(id, expected.fields.run_id as string);
    } else {
      const answer = await this.send("GET", `${RUNS}/${encoded}`, undefined, true);
      if (answer.status !== 200) throw new Violation(`GET ${RUNS}/${encoded}: expected 200 with the run ${show(id)}, got ${answer.status} ${answer.text.slice(0, 500)}`);
      record = answer.json;
    }
    const problems = recordProblems(expected, record, unknownKeys);
    if (problems.length) {
      expected.poisoned = true;
      throw new Violation(`run ${show(id)} does not read back as acknowledged:\n  - ${problems.join("\n  - ")}`);
    }
    // From now on the stored created_at and git_repo are the reference (PATCH must not change them).
    const stored = record as Json;
    expected.fields.created_at = stored.created_at;
    expected.createdAtFromServer = false;
    if (expected.gitRepoSent !== null) expected.gitRepoSent = stored.git_repo as string;
    expected.fields.git_repo = stored.git_repo;
    for (const f of Object.keys(expected.anyOf ?? {})) expected.fields[f] = stored[f];
    expected.anyOf = undefined;
  }

  private async findInList(id: string, runId: string): Promise<unknown> {
    for (let offset = 0; ; offset += 1000) {
      const answer = await this.send("GET", `${RUNS}?run_id=${encodeURIComponent(runId)}&limit=1000&offset=${offset}`, undefined, true);
      if (answer.status !== 200 || !Array.isArray(answer.json)) throw new Violation(`list by run_id ${show(runId)}: expected 200 [...], got ${answer.status}`);
      const found = answer.json.find((r) => isObject(r) && r.event_id === id);
      if (found) return found;
      if (answer.json.length < 1000) throw new Violation(`run ${show(id)} was acknowledged but is not listed under run_id ${show(runId)}`);
    }
  }
}

/**
 * WHATWG URLs resolve "." and ".." path segments (also spelled %2e) before a request is sent, so no URL
 * client can name a run whose event_id is "." or ".." in a path: GET, PATCH and associate-commit cannot
 * reach it. The server may refuse such ids (422) or store them; stored ones are read back through the list.
 */
export function addressable(id: string): boolean {
  return id !== "." && id !== "..";
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The strings of a JSON body as the server sees them (escapes decoded), for the leak check; "" if it does not parse. */
function stringsOfBody(body: string | Uint8Array): string {
  try {
    const text = typeof body === "string" ? body : new TextDecoder("utf-8", { fatal: true }).decode(body);
    return [...stringsIn(JSON.parse(text))].join("\n");
  } catch {
    return "";
  }
}

// ---------------------------------------------------------------------------------------------------
// Checking one write against the oracle
// ---------------------------------------------------------------------------------------------------

type Decoded = { kind: "empty" } | { kind: "utf8"; badByte: number } | { kind: "syntax" } | { kind: "json"; value: unknown };

/** The body as the contract reads it: UTF-8 (fatal), then JSON. */
function decodeBody(bytes: Uint8Array): Decoded {
  if (bytes.length === 0) return { kind: "empty" };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { kind: "utf8", badByte: -1 };
  }
  try {
    return { kind: "json", value: JSON.parse(text) };
  } catch {
    return { kind: "syntax" };
  }
}

/** A body over the size limit must get a 413 (before anything else about it matters). */
function tooLarge(bytes: Uint8Array, limit: number, answer: Answer, fail: (what: string) => never): boolean {
  if (bytes.length <= limit) return false;
  if (answer.status !== 413) fail(`expected 413 for a ${bytes.length}-byte body (limit ${limit})`);
  return true;
}

/** Checks the answer to a body that is not a JSON value: 422 json_invalid (or missing for an empty body). */
function expectUndecodable(decoded: Decoded, answer: Answer, fail: (what: string) => never, offsets?: readonly number[]): void {
  if (answer.status !== 422) fail(`expected 422 for a body that is not ${decoded.kind === "utf8" ? "UTF-8" : "JSON"}`);
  const issue = (answer.json as { detail: Json[] }).detail[0]!;
  const type = decoded.kind === "empty" ? "missing" : "json_invalid";
  if (issue.type !== type) fail(`expected a ${type} issue`);
  const loc = issue.loc as unknown[];
  if (type === "json_invalid") {
    if (loc[0] !== "body" || typeof loc[1] !== "number" || loc.length !== 2) fail(`expected loc ["body", <char offset>]`);
    if (offsets && !offsets.includes(loc[1] as number)) fail(`expected the json_invalid offset to be ${offsets.join(" or ")}`);
  }
}

/** The 422's issues name exactly the refused fields (each bad one, nothing but bad or maybe ones). */
function expectIssuesMatch(j: Judgement, issues: Json[], prefix: (string | number)[], fail: (what: string) => never): void {
  const here = issues.filter((i) => prefix.every((p, k) => (i.loc as unknown[])[k + 1] === p));
  if (!j.object) {
    if (!here.some((i) => (i.loc as unknown[]).length === prefix.length + 1)) fail(`expected a 422 issue at ${show(["body", ...prefix])} for a body that is not an object`);
    return;
  }
  const named = new Set(here.map((i) => String((i.loc as unknown[])[prefix.length + 1])));
  for (const f of badFields(j)) if (!named.has(f)) fail(`expected a 422 issue for ${show([...prefix, f])} (${(j.verdicts.get(f) as { why: string }).why})`);
  for (const f of named) {
    const v = j.verdicts.get(f);
    if (!v || v.kind === "ok") fail(`a 422 issue names ${show([...prefix, f])}, whose value ${show(isObject(j.raw) ? j.raw[f] : undefined)} the contract accepts`);
  }
}

function explain(j: Judgement): string {
  if (!j.object) return "the body is not a JSON object";
  const parts = [...j.verdicts].filter(([, v]) => v.kind !== "ok").map(([k, v]) => `${k}: ${v.kind} (${(v as { why: string }).why})`);
  return parts.length ? parts.join("; ") : "every field is valid";
}

/**
 * Sends a write and, if the answer itself breaks an invariant, marks the runs it may have touched as
 * poisoned: their stored state is unknown, so later cases stop comparing them (the failure is reported once).
 */
async function sendWrite(h: FuzzHarness, path: string, method: string, bytes: Uint8Array, touches: () => string[]): Promise<Answer> {
  try {
    return await h.send(method, path, bytes);
  } catch (error) {
    for (const id of touches()) {
      const expected = h.runs.get(id);
      if (expected) expected.poisoned = true;
      else h.remember(id, { fields: {}, gitRepoSent: null, createdAtFromServer: false, poisoned: true });
    }
    throw error;
  }
}

/** event_ids a body names (top-level object or batch items), for sendWrite. */
function idsIn(bytes: Uint8Array): string[] {
  const decoded = decodeBody(bytes);
  if (decoded.kind !== "json") return [];
  const items = Array.isArray(decoded.value) ? decoded.value : [decoded.value];
  return items.flatMap((item) => (isObject(item) && typeof item.event_id === "string" ? [item.event_id] : []));
}

/** Runs a read-back and, if it fails, names the write that stored the run. */
async function readBackAfter(h: FuzzHarness, id: string, write: string, bytes: Uint8Array, unknownKeys: readonly string[] = []): Promise<void> {
  try {
    await h.readBack(id, unknownKeys);
  } catch (error) {
    if (error instanceof Violation) throw new Violation(`${error.message}\n  after: ${write} body ${showBytes(bytes)}`);
    throw error;
  }
}

/** POST /api/v1/runs with `bytes`; checks the answer against the oracle and reads back an accepted run. */
export async function checkCreate(h: FuzzHarness, bytes: Uint8Array, offsets?: readonly number[]): Promise<void> {
  const answer = await sendWrite(h, RUNS, "POST", bytes, () => idsIn(bytes));
  const fail = (what: string): never => {
    throw new Violation(`POST ${RUNS}: ${what}\n  body: ${showBytes(bytes)}\n  answer: ${answer.status} ${answer.text.slice(0, 1500)}`);
  };
  if (tooLarge(bytes, MAX_BODY_BYTES, answer, fail)) return;
  const decoded = decodeBody(bytes);
  if (decoded.kind !== "json") return expectUndecodable(decoded, answer, fail, offsets);
  const j = judgeRun(decoded.value);
  const id = isObject(decoded.value) ? decoded.value.event_id : undefined;
  const known = typeof id === "string" && h.runs.has(id);
  // A run whose state an earlier failure left unknown: only the generic invariants apply.
  if (known && h.runs.get(id)!.poisoned) return;
  if (answer.status === 201 && typeof id === "string" && !known) h.remember(id, expectedFromRun(j)); // keep the registry true even on failure
  if (answer.status === 422) {
    if (!mayRefuse(j)) fail(`expected ${known ? 200 : 201}: ${explain(j)}`);
    return expectIssuesMatch(j, (answer.json as { detail: Json[] }).detail, [], fail);
  }
  if (mustRefuse(j)) fail(`expected 422: ${explain(j)}`);
  const body = answer.json as Json;
  if (known) {
    if (answer.status !== 200 || body.status !== "duplicate" || body.event_id !== id || body.message !== "Event already exists (idempotent)") {
      fail(`expected 200 {"status":"duplicate","event_id":${show(id)},"message":"Event already exists (idempotent)"}`);
    }
  } else if (answer.status !== 201 || body.status !== "created" || body.event_id !== id || body.run_id !== (decoded.value as Json).run_id) {
    fail(`expected 201 {"status":"created","event_id":${show(id)},"run_id":…}`);
  }
  await readBackAfter(h, id as string, `POST ${RUNS} → ${answer.status}`, bytes, Object.keys(decoded.value as Json));
}

/** POST /api/v1/runs/batch with `bytes`: all-or-nothing 422 with item indexes, else counts; every new run reads back. */
export async function checkBatch(h: FuzzHarness, bytes: Uint8Array): Promise<void> {
  const answer = await sendWrite(h, `${RUNS}/batch`, "POST", bytes, () => idsIn(bytes));
  const fail = (what: string): never => {
    throw new Violation(`POST ${RUNS}/batch: ${what}\n  body: ${showBytes(bytes)}\n  answer: ${answer.status} ${answer.text.slice(0, 1500)}`);
  };
  if (tooLarge(bytes, MAX_BATCH_BYTES, answer, fail)) return;
  const decoded = decodeBody(bytes);
  if (decoded.kind !== "json") return expectUndecodable(decoded, answer, fail);
  const items = decoded.value;
  if (!Array.isArray(items)) {
    if (answer.status !== 422) fail("expected 422 for a batch that is not an array");
    const issues = (answer.json as { detail: Json[] }).detail;
    if (!issues.some((i) => (i.loc as unknown[]).length === 1)) fail(`expected a 422 issue at ["body"]`);
    return;
  }
  const judged = items.map(judgeRun);
  if (judged.some((j) => isObject(j.raw) && typeof j.raw.event_id === "string" && h.runs.get(j.raw.event_id)?.poisoned)) return;
  // Which items would be new runs: the first copy of an event_id not stored before.
  const fresh = new Map<string, number>();
  judged.forEach((j, i) => {
    const id = isObject(j.raw) ? j.raw.event_id : undefined;
    if (typeof id === "string" && !h.runs.has(id) && !fresh.has(id)) fresh.set(id, i);
  });
  if (answer.status === 200) for (const [id, i] of fresh) h.remember(id, expectedFromRun(judged[i]!));
  if (answer.status === 422) {
    if (!judged.some(mayRefuse)) fail(`expected 200: every item is valid`);
    const issues = (answer.json as { detail: Json[] }).detail;
    judged.forEach((j, i) => expectIssuesMatch(j, issues, [i], fail));
    for (const i of issues) {
      const index = (i.loc as unknown[])[1];
      if (typeof index !== "number" || !judged[index] || !mayRefuse(judged[index])) fail(`a 422 issue ${show(i.loc)} names an item the contract accepts`);
    }
    return;
  }
  const refused = judged.findIndex(mustRefuse);
  if (refused >= 0) fail(`expected 422: item ${refused}: ${explain(judged[refused]!)}`);
  const want = { inserted: fresh.size, duplicates: items.length - fresh.size, errors: [], total: items.length };
  if (answer.status !== 200 || !jsonEqual(answer.json, want)) fail(`expected 200 ${show(want)}`);
  for (const [id, i] of fresh) await readBackAfter(h, id, `POST ${RUNS}/batch → 200 (item ${i})`, bytes, Object.keys(judged[i]!.raw as Json));
}

/** PATCH /api/v1/runs/{id} with `bytes`: 422 → 404 → 400 in that order, else fields_updated in request order and the run updated. */
export async function checkPatch(h: FuzzHarness, id: string, bytes: Uint8Array): Promise<void> {
  const path = `${RUNS}/${encodeURIComponent(id)}`;
  const answer = await sendWrite(h, path, "PATCH", bytes, () => [id]);
  const fail = (what: string): never => {
    throw new Violation(`PATCH ${path}: ${what}\n  body: ${showBytes(bytes)}\n  answer: ${answer.status} ${answer.text.slice(0, 1500)}`);
  };
  if (tooLarge(bytes, MAX_BODY_BYTES, answer, fail)) return;
  const decoded = decodeBody(bytes);
  if (decoded.kind !== "json") return expectUndecodable(decoded, answer, fail);
  const j = judgePatch(decoded.value);
  const expected = h.runs.get(id);
  if (expected?.poisoned) return;
  if (answer.status === 200 && expected) applyUpdate(expected, j);
  if (answer.status === 422) {
    if (!mayRefuse(j)) fail(`expected ${expected ? 200 : 404}: ${explain(j)}`);
    return expectIssuesMatch(j, (answer.json as { detail: Json[] }).detail, [], fail);
  }
  if (mustRefuse(j)) fail(`expected 422: ${explain(j)}`);
  if (!expected) {
    if (answer.status !== 404 || (answer.json as Json).detail !== `Run not found: ${id}`) fail(`expected 404 {"detail":"Run not found: ${id}"}`);
    return;
  }
  if (j.order.length === 0) {
    if (answer.status !== 400 || (answer.json as Json).detail !== "No valid fields to update") fail(`expected 400 {"detail":"No valid fields to update"}`);
    return;
  }
  const want = { event_id: id, updated: true, fields_updated: j.order };
  if (answer.status !== 200 || !jsonEqual(answer.json, want)) fail(`expected 200 ${show(want)}`);
  await readBackAfter(h, id, `PATCH ${path} → 200`, bytes);
}

function applyUpdate(expected: ExpectedRun, j: Judgement): void {
  for (const f of j.order) {
    const v = j.verdicts.get(f)!;
    if (v.kind !== "bad") expected.fields[f] = v.value;
  }
}

/** POST /api/v1/runs/{id}/associate-commit: 422, then 404, then the four git_commit_* fields set. */
export async function checkAssociate(h: FuzzHarness, id: string, bytes: Uint8Array): Promise<void> {
  const path = `${RUNS}/${encodeURIComponent(id)}/associate-commit`;
  const answer = await sendWrite(h, path, "POST", bytes, () => [id]);
  const fail = (what: string): never => {
    throw new Violation(`POST ${path}: ${what}\n  body: ${showBytes(bytes)}\n  answer: ${answer.status} ${answer.text.slice(0, 1500)}`);
  };
  if (tooLarge(bytes, MAX_BODY_BYTES, answer, fail)) return;
  const decoded = decodeBody(bytes);
  if (decoded.kind !== "json") return expectUndecodable(decoded, answer, fail);
  const j = judgeAssociate(decoded.value);
  const expected = h.runs.get(id);
  if (expected?.poisoned) return;
  const setFields = () => {
    const value = (k: string) => (j.verdicts.get(k) as { value: unknown }).value;
    expected!.fields.git_commit_hash = value("commit_hash");
    expected!.fields.git_commit_source = value("commit_source");
    // "sets git_commit_hash/source/author/timestamp": an omitted author or timestamp may be cleared or kept.
    const anyOf: Record<string, unknown[]> = {};
    for (const [key, field] of [["commit_author", "git_commit_author"], ["commit_timestamp", "git_commit_timestamp"]] as const) {
      if (j.verdicts.has(key)) expected!.fields[field] = value(key);
      else anyOf[field] = [expected!.fields[field], null];
    }
    expected!.anyOf = anyOf;
  };
  if (answer.status === 200 && expected && !mustRefuse(j)) setFields();
  if (answer.status === 422) {
    if (!mayRefuse(j)) fail(`expected ${expected ? 200 : 404}: ${explain(j)}`);
    return expectIssuesMatch(j, (answer.json as { detail: Json[] }).detail, [], fail);
  }
  if (mustRefuse(j)) fail(`expected 422: ${explain(j)}`);
  if (!expected) {
    if (answer.status !== 404 || (answer.json as Json).detail !== `Run not found: ${id}`) fail(`expected 404 {"detail":"Run not found: ${id}"}`);
    return;
  }
  const want = { status: "success", event_id: id, run_id: expected.fields.run_id, commit_hash: (decoded.value as Json).commit_hash };
  if (answer.status !== 200 || !jsonEqual(answer.json, want)) fail(`expected 200 ${show(want)}`);
  await readBackAfter(h, id, `POST ${path} → 200`, bytes);
}

const encoder = new TextEncoder();

/** Serialises a run with a fresh event_id (unless `keepId`), so shrinking and reruns never collide with stored runs. */
function runBytes(h: FuzzHarness, run: RunCase, keepId = false): Uint8Array {
  const entries = run.entries.map(([k, v]): [string, JsonNode] => [k, v]);
  const id = lastEntry(entries, "event_id");
  if (!keepId && id?.t === "str") setEntry(entries, "event_id", str(h.freshId(id.value)));
  return encoder.encode(serialize(obj(entries), run.style));
}

// ---------------------------------------------------------------------------------------------------
// Raw bytes: invalid UTF-8, raw control bytes, escapes, whole-body damage
// ---------------------------------------------------------------------------------------------------

const INVALID_UTF8: readonly number[][] = [
  [0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
  [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xfe], [0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3, 0x28], [0xe2, 0x28, 0xa1],
];
/** Text spliced verbatim inside a JSON string (so `\\u0000` is an escape the server must decode). */
const STRING_SPLICES = [
  "\\u0000", "\\u0000\\u0000", "a\\u0000", "\\ud800", "\\udfff", "\\ud800\\u0041", "\\udc00\\ud800", "\\ud83d", "\\udbff\\udfff", "\\uDBFF\\uDFFF",
  "\\ud83d\\ude00", "\\u00e9", "\\u0065\\u0301", "\\/", "\\b\\f\\n\\r\\t", "\\\"", "\\\\", "\\u001f", "\\u007f", "\\u2028", "\\ufeff",
  "\\x41", "\\u12", "\\U0041", "\\'", "\\a", "\\u12G4", "\\", "\\\\\\",
];

type Splice =
  | { k: "utf8"; bytes: number[] }
  | { k: "control"; byte: number }
  | { k: "text"; text: string };
const spliceArb: fc.Arbitrary<Splice> = fc.oneof(
  fc.constantFrom(...INVALID_UTF8).map((bytes): Splice => ({ k: "utf8", bytes })),
  fc.integer({ min: 0, max: 0x1f }).map((byte): Splice => ({ k: "control", byte })),
  fc.constantFrom(...STRING_SPLICES).map((text): Splice => ({ k: "text", text })),
);

type Whole = "bom" | "truncate" | "garbage" | "empty" | "whitespace" | "null" | "nan" | "array" | "string" | "number" | "nul-after";
const wholeArb = fc.constantFrom<Whole>("bom", "truncate", "garbage", "empty", "whitespace", "null", "nan", "array", "string", "number", "nul-after");

const SENTINEL = "\ue000\ue001\ue002";
const SENTINEL_BYTES = encoder.encode(SENTINEL);
const SPLICE_TARGETS = [...REQUIRED_TEXT, "error_summary", "error_details", "git_repo", "host", "metrics_json", "metrics_key", "context_json", "status", "start_time", "unknown"] as const;

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let k = 0; k < needle.length; k++) if (haystack[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

/** Builds a body with `splice` spliced inside one JSON string of a valid run; also the offsets a json_invalid may name. */
function splicedBody(h: FuzzHarness, run: RunCase, target: (typeof SPLICE_TARGETS)[number], splice: Splice): { bytes: Uint8Array; offsets?: number[] } {
  const entries = run.entries.map(([k, v]): [string, JsonNode] => [k, v]);
  const marked = str(`x${SENTINEL}y`);
  if (target === "metrics_json" || target === "context_json") setEntry(entries, target, obj([["k", marked]]));
  else if (target === "metrics_key") setEntry(entries, "metrics_json", obj([[`k${SENTINEL}`, lit("1")]]));
  else if (target === "unknown") entries.push(["unknown_field", marked]);
  else setEntry(entries, target, marked);
  const id = lastEntry(entries, "event_id");
  if (id?.t === "str" && target !== "event_id") setEntry(entries, "event_id", str(h.freshId(id.value)));
  const text = encoder.encode(serialize(obj(entries), { escape: "none", spaced: run.style.spaced }));
  const at = indexOfBytes(text, SENTINEL_BYTES);
  if (at < 0) throw new Error("internal: sentinel not found");
  const inserted = splice.k === "utf8" ? splice.bytes : splice.k === "control" ? [splice.byte] : [...encoder.encode(splice.text)];
  let bytes = new Uint8Array([...text.subarray(0, at), ...inserted, ...text.subarray(at + SENTINEL_BYTES.length)]);
  const prefix = new TextDecoder().decode(text.subarray(0, at));
  // The server reports a char offset: UTF-16 units (its documented choice) or code points (Python's).
  const offsets = [prefix.length, [...prefix].length];
  if (target === "event_id") {
    // Keep the spliced id fresh: append a unique suffix after the splice point, inside the same string.
    const suffix = encoder.encode(`~${h.stats.cases}~${Math.random().toString(36).slice(2)}`);
    const end = at + inserted.length;
    bytes = new Uint8Array([...bytes.subarray(0, end), ...suffix, ...bytes.subarray(end)]);
  }
  return splice.k === "text" ? { bytes } : { bytes, offsets };
}

function wholeBody(h: FuzzHarness, run: RunCase, kind: Whole, cut: number): Uint8Array {
  const body = runBytes(h, run);
  switch (kind) {
    case "bom":
      return new Uint8Array([0xef, 0xbb, 0xbf, ...body]);
    case "truncate":
      return body.subarray(0, cut % body.length);
    case "garbage":
      return new Uint8Array([...body, ...encoder.encode(" x")]);
    case "empty":
      return new Uint8Array(0);
    case "whitespace":
      return encoder.encode(" \t\r\n ");
    case "null":
      return encoder.encode("null");
    case "nan":
      return encoder.encode('{"event_id":"a","run_id":NaN}');
    case "array":
      return new Uint8Array([0x5b, ...body, 0x5d]);
    case "string":
      return encoder.encode(JSON.stringify(new TextDecoder().decode(body)));
    case "number":
      return encoder.encode("1e309");
    case "nul-after":
      return new Uint8Array([...body, 0x00]);
  }
}

// ---------------------------------------------------------------------------------------------------
// GET /api/v1/runs query strings
// ---------------------------------------------------------------------------------------------------

type QueryValue = { k: "text"; text: string } | { k: "known"; field: string; index: number };
interface QueryParam {
  key: string;
  value: QueryValue;
  encoding: "component" | "raw" | "form";
}

const QUERY_KEYS = [...FILTER_COLUMNS, "created_before", "created_after", "start_time_from", "start_time_to", "limit", "offset"];
const queryValueArb: fc.Arbitrary<QueryValue> = fc.oneof(
  fc.record({ k: fc.constant("known" as const), field: fc.constantFrom(...FILTER_COLUMNS), index: fc.nat() }),
  fc.oneof(
    fc.constantFrom(
      "", "0", "1", "-1", "5", "100", "1000", "1001", "99999999999999999999", "9007199254740991", "9007199254740992", "1e3", "1.0", " 5", "+5", "05", "0x10",
      "abc", "NaN", "%", "%zz", "%00", "%2B", "+", "&", "=", "success", "failed", "completed", "FAILURE", "bogus", "running ",
      "2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00:00Z", "2026-01-01 00:00:00+05:30", "2026-02-30", "9999-12-31T23:59:59.999999999-23:59",
      "0000-01-01T00:00:00+23:59", "2026-01-01T00:00:00+24:00", "garbage", "'; DROP TABLE agent_runs; --", "__proto__", "\u0000", "😀", "\ud800",
    ),
    timestampArb,
    textArb,
  ).map((text): QueryValue => ({ k: "text", text })),
);
export const queryArb: fc.Arbitrary<QueryParam[]> = fc.array(
  fc.record({
    key: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...QUERY_KEYS) }, { weight: 1, arbitrary: textArb }),
    value: queryValueArb,
    encoding: fc.constantFrom("component" as const, "component" as const, "raw" as const, "form" as const),
  }),
  { maxLength: 6 },
);

function encodeQueryPart(text: string, encoding: QueryParam["encoding"]): string {
  if (encoding === "raw") return text;
  // encodeURIComponent throws on lone surrogates; a URL carries them as U+FFFD anyway.
  const component = encodeURIComponent(text.toWellFormed());
  return encoding === "form" ? component.replace(/%20/g, "+") : component;
}

function resolveQuery(h: FuzzHarness, params: readonly QueryParam[]): string {
  const parts = params.map(({ key, value, encoding }) => {
    let text: string;
    if (value.k === "text") text = value.text;
    else {
      const id = h.knownId(value.index);
      const stored = id === undefined ? undefined : h.runs.get(id)!.fields[value.field];
      text = typeof stored === "string" ? stored : "none";
    }
    return `${encodeQueryPart(key, encoding)}=${encodeQueryPart(text, encoding)}`;
  });
  return parts.length ? `?${parts.join("&")}` : "";
}

/** GET /api/v1/runs?<query>: 422 for limit/offset, 400 for status/time filters, else a page that satisfies every filter. */
export async function checkList(h: FuzzHarness, query: string): Promise<void> {
  const path = `${RUNS}${query}`;
  const url = new URL(h.server.base + path);
  const answer = await h.send("GET", path, undefined, true);
  const fail = (what: string): never => {
    throw new Violation(`GET ${url.pathname}${url.search}: ${what}\n  answer: ${answer.status} ${answer.text.slice(0, 1500)}`);
  };
  const sp = url.searchParams;
  const allowed = new Set<number>();
  let maybe422 = false;
  // limit 1..1000, offset >= 0 (the contract sets offset no maximum: past 2^53-1 a 422 is tolerated).
  const integer = (name: string, min: number, max: number, fallback: number): number => {
    const text = sp.getAll(name).at(-1);
    if (text === undefined) return fallback;
    const m = /^\s*([+-]?)(\d+)\s*$/.exec(text);
    if (!m) {
      allowed.add(422);
      return fallback;
    }
    const n = Number(m[2]) * (m[1] === "-" ? -1 : 1);
    if (n < min || n > max) {
      allowed.add(422);
      return fallback;
    }
    if (!/^\d+$/.test(text) || n > MAX) maybe422 = true;
    return n;
  };
  const limit = integer("limit", 1, 1000, 100);
  integer("offset", 0, Infinity, 0);
  const statuses = sp.getAll("status").map((s) => (CANONICAL_STATUSES.includes(s) ? s : Object.hasOwn(STATUS_ALIASES, s) ? STATUS_ALIASES[s]! : null));
  if (statuses.includes(null)) allowed.add(400);
  const ranges: [string, bigint][] = [];
  for (const name of ["created_after", "created_before", "start_time_from", "start_time_to"]) {
    // A repeated single-valued parameter counts by its last value (Starlette's rule, as for every filter).
    const text = sp.getAll(name).at(-1);
    if (text === undefined) continue;
    const instant = instantOf(text, false);
    if (instant === null || instant === "leap") {
      if (instant === null) allowed.add(400);
      else {
        allowed.add(400);
        allowed.add(200);
      }
      continue;
    }
    ranges.push([name, instant]);
  }
  if (allowed.size === 0) allowed.add(200);
  if (maybe422) allowed.add(422);
  if (!allowed.has(answer.status)) fail(`expected ${[...allowed].join(" or ")}`);
  if (answer.status === 400) {
    const detail = (answer.json as Json).detail as string;
    const timestampMessage = /^Invalid ISO8601 timestamp for (created_before|created_after|start_time_from|start_time_to): '/.test(detail);
    if (!timestampMessage && !/^Invalid status: '/.test(detail)) fail(`expected the contract's 400 message`);
  }
  if (answer.status === 422) {
    for (const i of (answer.json as { detail: Json[] }).detail) {
      const loc = i.loc as unknown[];
      if (loc[0] !== "query" || !["limit", "offset"].includes(String(loc[1]))) fail(`expected 422 issues at ["query","limit"|"offset"]`);
    }
  }
  if (answer.status !== 200) return;
  const page = answer.json;
  if (!Array.isArray(page)) return fail("expected an array");
  if (page.length > limit) fail(`expected at most ${limit} runs`);
  let previous: bigint | undefined;
  for (const run of page) {
    if (!isObject(run) || typeof run.event_id !== "string") return fail(`expected RunRecords, got ${show(run)}`);
    for (const column of FILTER_COLUMNS) {
      const values = sp.getAll(column);
      if (!values.length) continue;
      const wanted = column === "status" ? (statuses as string[]) : [values.at(-1)!];
      if (!wanted.includes(run[column] as string)) fail(`run ${show(run.event_id)} has ${column} ${show(run[column])}, outside the filter ${show(wanted)}`);
    }
    const created = instantOf(String(run.created_at), false);
    const started = instantOf(String(run.start_time), false);
    if (typeof created !== "bigint" || typeof started !== "bigint") return fail(`run ${show(run.event_id)} has unreadable created_at/start_time`);
    for (const [name, at] of ranges) {
      const inside =
        name === "created_after" ? created > at : name === "created_before" ? created < at : name === "start_time_from" ? started >= at : started <= at;
      if (!inside) fail(`run ${show(run.event_id)} (created_at ${show(run.created_at)}, start_time ${show(run.start_time)}) is outside ${name}`);
    }
    if (previous !== undefined && created > previous) fail(`not newest first: ${show(run.created_at)} after an older run`);
    previous = created;
    const expected = h.runs.get(run.event_id);
    if (expected && !expected.poisoned) {
      const problems = recordProblems(expected, run);
      if (problems.length) fail(`run ${show(run.event_id)} is listed differently from what was acknowledged:\n  - ${problems.join("\n  - ")}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// event_ids in paths
// ---------------------------------------------------------------------------------------------------

const SEGMENTS = [
  "", ".", "..", "...", "%2e", "%2E%2E", ".%2e", "%2F", "a%2Fb", "%", "%zz", "%E2%82", "%C0%80", "%FF", "%ED%A0%80", "%00", "a/b", "a//b", "a/",
  "batch", "b%61tch", "commit-url", "repo-url", "associate-commit", "../health", "..%2F..%2Fhealth", "%2e%2e%2fhealth", "~", "a%20b", "a+b",
  "x?y=1", "x#frag", "\\..\\", "%5C", "%3F", "%23", "é", "%C3%A9", "😀", ";", "a;b=c", "@", "*", "'", "%27%20OR%201=1", "%25", "%252F",
];
type PathTarget = { k: "raw"; text: string } | { k: "known"; index: number; encoding: "component" | "every-byte" | "every-byte-lower" };
export interface PathCase {
  target: PathTarget;
  suffix: "" | "/" | "/commit-url" | "/repo-url" | "/associate-commit" | "/extra" | "/commit-url/";
  method: "GET" | "PATCH" | "POST" | "PUT" | "DELETE";
}
export const pathCaseArb: fc.Arbitrary<PathCase> = fc.record({
  target: fc.oneof(
    fc.oneof(fc.constantFrom(...SEGMENTS), textArb, fc.array(fc.constantFrom(...SEGMENTS, "a", "/", "."), { maxLength: 5 }).map((s) => s.join(""))).map(
      (text): PathTarget => ({ k: "raw", text }),
    ),
    fc.record({ k: fc.constant("known" as const), index: fc.nat(), encoding: fc.constantFrom("component" as const, "every-byte" as const, "every-byte-lower" as const) }),
  ),
  suffix: fc.constantFrom("", "/", "/commit-url", "/repo-url", "/associate-commit", "/extra", "/commit-url/"),
  method: fc.constantFrom("GET", "GET", "PATCH", "POST", "PUT", "DELETE"),
});

function everyByte(text: string, lower: boolean): string {
  const hex = [...encoder.encode(text)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
  return lower ? hex : hex.toUpperCase();
}

/** The routes under /api/v1/runs as the contract lists them: [segments after runs, methods]. */
const RUN_ROUTES: readonly [readonly string[], readonly string[]][] = [
  [[], ["GET", "POST"]],
  [["batch"], ["POST"]],
  [["{id}"], ["GET", "PATCH"]],
  [["{id}", "associate-commit"], ["POST"]],
  [["{id}", "commit-url"], ["GET"]],
  [["{id}", "repo-url"], ["GET"]],
];

/** Any method on /api/v1/runs/<segment><suffix>: the contract's 400/404/405 and per-route answers. */
export async function checkPath(h: FuzzHarness, c: PathCase): Promise<void> {
  let segment: string;
  if (c.target.k === "raw") segment = c.target.text;
  else {
    const id = h.knownId(c.target.index);
    if (id === undefined) return;
    segment = c.target.encoding === "component" ? encodeURIComponent(id) : everyByte(id, c.target.encoding === "every-byte-lower");
  }
  const path = `${RUNS}/${segment}${c.suffix}`;
  const url = new URL(h.server.base + path);
  const bodies: Record<string, string> = { PATCH: '{"error_summary":"fuzz \\u0000 patch"}', POST: '{"commit_hash":"abcdef1234567","commit_source":"ci","commit_author":"fuzz"}' };
  const body = bodies[c.method];
  let answer: Answer;
  try {
    answer = await h.send(c.method, path, body, true);
  } catch (error) {
    // The request may have changed a stored run: stop comparing it (see sendWrite).
    const target = h.runs.get(c.target.k === "known" ? h.knownId(c.target.index)! : safeDecode(segment));
    if (target) target.poisoned = true;
    throw error;
  }
  const fail = (what: string): never => {
    throw new Violation(`${c.method} ${url.pathname}${url.search} (built from ${show(path)}): ${what}\n  answer: ${answer.status} ${answer.text.slice(0, 1500)}`);
  };
  // Where the request really lands, as the server's router sees it.
  const pathname = url.pathname.length > 1 && url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname;
  const raw = pathname.split("/").slice(1);
  // A malformed escape (%zz, %FF) is either a 400 or taken literally (Starlette's unquote keeps it): both are fine.
  const malformed = raw.some((segment) => {
    try {
      decodeURIComponent(segment);
      return false;
    } catch {
      return true;
    }
  });
  if (malformed && answer.status === 400) return;
  const decoded = raw.map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
  if (raw[0] !== "api" || raw[1] !== "v1" || raw[2] !== "runs") return; // resolved elsewhere ("../health"): generic checks only
  const rest = raw.slice(3);
  const candidates = RUN_ROUTES.filter(([shape]) =>
    shape.length === rest.length && shape.every((s, i) => (s === "{id}" ? decoded[3 + i] !== "" : s === rest[i])));
  // More literal segments win (so /runs/batch is never read as an event_id).
  candidates.sort(([a], [b]) => b.filter((s) => s !== "{id}").length - a.filter((s) => s !== "{id}").length);
  const route = candidates.find(([, methods]) => methods.includes(c.method));
  if (!candidates.length) {
    if (answer.status !== 404 || (answer.json as Json).detail !== "Not Found") fail(`expected 404 {"detail":"Not Found"}`);
    return;
  }
  if (!route) {
    const allow = new Set(candidates.flatMap(([, m]) => m));
    if (allow.has("GET")) allow.add("HEAD");
    const header = (answer.headers.get("allow") ?? "").split(",").map((m) => m.trim()).filter(Boolean);
    if (answer.status !== 405 || (answer.json as Json).detail !== "Method Not Allowed") fail(`expected 405 {"detail":"Method Not Allowed"}`);
    if (new Set(header).size !== allow.size || !header.every((m) => allow.has(m))) fail(`expected Allow: ${[...allow].sort().join(", ")}`);
    return;
  }
  const [shape] = route;
  if (!shape.includes("{id}")) return; // POST /runs or /runs/batch reached through the path: generic checks only
  const id = decoded[3]!;
  const expected = h.runs.get(id);
  if (expected?.poisoned) return;
  if (!expected) {
    if (answer.status !== 404 || (answer.json as Json).detail !== `Run not found: ${id}`) fail(`expected 404 {"detail":${show(`Run not found: ${id}`)}}`);
    return;
  }
  if (answer.status !== 200) fail(`expected 200: run ${show(id)} exists`);
  const suffix = shape[1];
  if (c.method === "PATCH") {
    expected.fields.error_summary = "fuzz \u0000 patch";
    if (!jsonEqual(answer.json, { event_id: id, updated: true, fields_updated: ["error_summary"] })) fail("expected the PATCH answer");
  } else if (suffix === "associate-commit") {
    Object.assign(expected.fields, { git_commit_hash: "abcdef1234567", git_commit_source: "ci", git_commit_author: "fuzz" });
    expected.anyOf = { git_commit_timestamp: [expected.fields.git_commit_timestamp, null] };
    if (!jsonEqual(answer.json, { status: "success", event_id: id, run_id: expected.fields.run_id, commit_hash: "abcdef1234567" })) fail("expected the associate-commit answer");
  } else if (suffix === "commit-url" || suffix === "repo-url") {
    const key = suffix.replace("-", "_");
    if (!isObject(answer.json) || !Object.hasOwn(answer.json, key)) fail(`expected {${key}: …}`);
  } else if (!expected.poisoned) {
    const problems = recordProblems(expected, answer.json);
    if (problems.length) fail(`run ${show(id)} read through ${show(segment)} differs:\n  - ${problems.join("\n  - ")}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------------

export interface FuzzProperty {
  name: string;
  /** Share of the total case count this property gets. */
  weight: number;
  property(h: FuzzHarness): fc.IAsyncProperty<unknown>;
}

/** Wraps a predicate so every execution is counted and probed by the harness. */
function prop<T>(h: FuzzHarness, arb: fc.Arbitrary<T>, check: (value: T) => Promise<void>): fc.IAsyncProperty<unknown> {
  return fc.asyncProperty(arb, (value) => h.runCase(() => check(value))) as unknown as fc.IAsyncProperty<unknown>;
}

type Endpoint = "create" | "batch" | "patch" | "associate";

export const PROPERTIES: readonly FuzzProperty[] = [
  {
    name: "valid runs are created and read back exactly",
    weight: 18,
    property: (h) =>
      prop(h, fc.tuple(validRunArb, fc.nat(), fc.nat({ max: 9 })), async ([run, index, again]) => {
        // One case in ten re-sends a stored run's event_id: a 200 duplicate that leaves the stored run untouched.
        const reuse = again === 0 ? h.knownId(index) : undefined;
        if (reuse !== undefined) {
          const entries = run.entries.map(([k, v]): [string, JsonNode] => [k, v]);
          setEntry(entries, "event_id", str(reuse));
          return checkCreate(h, encoder.encode(serialize(obj(entries), run.style)));
        }
        await checkCreate(h, runBytes(h, run));
      }),
  },
  {
    name: "mutated runs are refused with 422 on the right fields, or stored exactly",
    weight: 25,
    property: (h) => prop(h, mutatedRunArb, (run) => checkCreate(h, runBytes(h, run))),
  },
  {
    name: "raw bytes: invalid UTF-8, raw control bytes, escapes and lone surrogates inside strings",
    weight: 14,
    property: (h) =>
      prop(h, fc.tuple(validRunArb, fc.constantFrom(...SPLICE_TARGETS), spliceArb), async ([run, target, splice]) => {
        const { bytes, offsets } = splicedBody(h, run, target, splice);
        await checkCreate(h, bytes, offsets);
      }),
  },
  {
    name: "raw bytes: damaged, empty and non-object bodies on every write endpoint",
    weight: 6,
    property: (h) =>
      prop(h, fc.tuple(validRunArb, wholeArb, fc.nat(), fc.constantFrom<Endpoint>("create", "batch", "patch", "associate")), async ([run, kind, cut, endpoint]) => {
        const bytes = wholeBody(h, run, kind, cut);
        await sendTo(h, endpoint, bytes, cut);
      }),
  },
  {
    name: "deeply nested JSON (up to 100,000 levels) in metrics_json, context_json, other fields and the whole body",
    weight: 3,
    property: (h) =>
      prop(
        h,
        fc.tuple(
          validRunArb,
          fc.constantFrom(1, 2, 63, 64, 65, 200, 1_000, 10_000, 100_000),
          fc.constantFrom("array" as const, "object" as const),
          fc.constantFrom("metrics_json", "context_json", "agent_name", "duration_ms", "unknown", "body", "batch-item"),
          fc.constantFrom<Endpoint>("create", "batch", "patch"),
        ),
        async ([run, depth, kind, where, endpoint]) => {
          const deep = deepText(depth, kind);
          if (where === "body") return sendTo(h, endpoint, encoder.encode(deep), depth);
          const entries = runBytesEntries(h, run);
          if (where === "unknown") entries.push(["deep", lit(deep)]);
          else if (where !== "batch-item") setEntry(entries, where, lit(deep));
          const item = serialize(obj(entries), run.style);
          if (where === "batch-item") return checkBatch(h, encoder.encode(`[${item},${deep}]`));
          await sendTo(h, endpoint, encoder.encode(item), depth);
        },
      ),
  },
  {
    name: "random JSON on every write endpoint",
    weight: 8,
    property: (h) =>
      prop(h, fc.tuple(fc.oneof(jsonNodeArb, deepNodeArb, fc.jsonValue().map((v) => lit(JSON.stringify(v)))), styleArb, fc.nat(), fc.constantFrom<Endpoint>("create", "batch", "patch", "associate")),
        ([node, style, index, endpoint]) => sendTo(h, endpoint, encoder.encode(serialize(node, style)), index)),
  },
  {
    name: "batches of valid and mutated runs are all-or-nothing",
    weight: 6,
    property: (h) =>
      prop(h, fc.tuple(fc.array(fc.oneof({ weight: 3, arbitrary: validRunArb }, { weight: 1, arbitrary: mutatedRunArb }), { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 2 })),
        async ([runs, dups]) => {
          const items = runs.map((r) => serialize(obj(runBytesEntries(h, r)), r.style));
          // Repeat some items inside the batch: the first copy is the one stored.
          for (const d of dups) if (items.length) items.push(items[d % items.length]!);
          await checkBatch(h, encoder.encode(`[${items.join(",")}]`));
        }),
  },
  {
    name: "PATCH and associate-commit on fresh runs follow 422 → 404 → 400 and update exactly",
    weight: 9,
    property: (h) =>
      prop(
        h,
        fc.tuple(
          validRunArb,
          fc.array(
            fc.oneof(
              fc.record({ kind: fc.constant("patch" as const), update: fc.record(optionalOrNull, { requiredKeys: [] }), mutations: fc.array(mutationArb, { maxLength: 2 }) }),
              fc.record({
                kind: fc.constant("associate" as const),
                hash: fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{7,40}$/), fc.stringMatching(/^[0-9a-f]{64}$/), textArb),
                source: fc.constantFrom("manual", "llm", "ci", "CI", "bot", ""),
                author: fc.option(fc.oneof(textArb, loneSurrogateArb), { nil: undefined }),
                timestamp: fc.option(fc.oneof(timestampArb, fc.constantFrom(...BAD_TIMESTAMPS)), { nil: undefined }),
              }),
            ),
            { minLength: 1, maxLength: 3 },
          ),
          fc.boolean(),
        ),
        async ([run, ops, missing]) => {
          const bytes = runBytes(h, run);
          const entries = JSON.parse(new TextDecoder().decode(bytes)) as Json;
          let id = entries.event_id as string;
          if (missing) id = h.freshId(`missing-${id}`);
          else await checkCreate(h, bytes);
          if (!addressable(id)) return;
          for (const op of ops) {
            if (op.kind === "patch") {
              const patched = applyMutations({ entries: Object.entries(op.update) as [string, JsonNode][], style: run.style }, op.mutations.filter((m) => m.op !== "drop"));
              await checkPatch(h, id, encoder.encode(serialize(obj(patched.entries), run.style)));
            } else {
              const body: [string, JsonNode][] = [["commit_hash", str(op.hash)], ["commit_source", str(op.source)]];
              if (op.author !== undefined) body.push(["commit_author", str(op.author)]);
              if (op.timestamp !== undefined) body.push(["commit_timestamp", str(op.timestamp)]);
              await checkAssociate(h, id, encoder.encode(serialize(obj(body), run.style)));
            }
          }
        },
      ),
  },
  {
    name: "GET /api/v1/runs with random query strings",
    weight: 8,
    property: (h) => prop(h, queryArb, (params) => checkList(h, resolveQuery(h, params))),
  },
  {
    name: "event_ids in paths: slashes, dots, percent-escapes, every route and method",
    weight: 6,
    property: (h) => prop(h, pathCaseArb, (c) => checkPath(h, c)),
  },
];

function runBytesEntries(h: FuzzHarness, run: RunCase): [string, JsonNode][] {
  const entries = run.entries.map(([k, v]): [string, JsonNode] => [k, v]);
  const id = lastEntry(entries, "event_id");
  if (id?.t === "str") setEntry(entries, "event_id", str(h.freshId(id.value)));
  return entries;
}

async function sendTo(h: FuzzHarness, endpoint: Endpoint, bytes: Uint8Array, index: number): Promise<void> {
  switch (endpoint) {
    case "create":
      return checkCreate(h, bytes);
    case "batch":
      return checkBatch(h, bytes);
    case "patch":
      return checkPatch(h, h.knownId(index) ?? "no-such-run", bytes);
    case "associate":
      return checkAssociate(h, h.knownId(index) ?? "no-such-run", bytes);
  }
}

/** Splits exactly `total` cases over the properties by weight (largest remainders; each gets at least one). */
export function casesPerProperty(total: number): Map<string, number> {
  const sum = PROPERTIES.reduce((s, p) => s + p.weight, 0);
  const shares = PROPERTIES.map((p) => (total * p.weight) / sum);
  const counts = shares.map(Math.floor);
  const order = shares.map((share, i) => [share - Math.floor(share), i] as const).sort((a, b) => b[0] - a[0]);
  const missing = total - counts.reduce((s, n) => s + n, 0);
  for (let k = 0; k < missing; k++) counts[order[k]![1]]!++;
  return new Map(PROPERTIES.map((p, i) => [p.name, Math.max(1, counts[i]!)]));
}

/** `PRAGMA integrity_check` on the database file, opened read-only. */
export function integrityCheck(dbPath: string): string {
  const db = new Database(dbPath, { readonly: true });
  // Right after a stop, the file can stay locked for a moment while the last connection winds down (seen
  // when an export stream was cut off mid-transfer); wait for it like any well-behaved second process.
  db.run("PRAGMA busy_timeout = 5000");
  try {
    return db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check).join("; ");
  } finally {
    db.close();
  }
}

/** Default seed of the short run; FUZZ_SEED overrides it (fast-check prints the seed and path of any failure). */
export const DEFAULT_SEED = 20_261_203;

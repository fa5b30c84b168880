import { Kind, type Static, type TArray, type TObject, type TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { ValueErrorType, type ValueError } from "@sinclair/typebox/errors";
import { parseZonedTimestamp, type TimestampProblem } from "../domain/timestamps.ts";
import { STATUS_RULE_MESSAGE } from "../domain/statuses.ts";
import { Formats } from "./formats.ts";
import { MAX_JSON_DEPTH } from "./runs.ts";

/** One entry of a FastAPI-shaped 422 `detail` array. */
export interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}
export type Validated<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };
export type BodyValidator<T> = (input: unknown) => Validated<T>;

type Loc = (string | number)[];

const TRUE_WORDS = new Set(["true", "1", "yes", "on", "t", "y"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off", "f", "n"]);
const DECIMAL_INTEGER = /^\s*[+-]?\d+\s*$/;

const TIMESTAMP_MESSAGES: Record<TimestampProblem, string> = {
  zone: "Value error, timestamp must include a timezone, e.g. 2026-01-12T10:30:00Z or 2026-01-12T10:30:00+00:00",
  calendar: "Value error, timestamp names a date or time that does not exist",
  format: "Value error, expected an ISO 8601 date-time with a timezone, e.g. 2026-01-12T10:30:00Z",
};

/**
 * Compiles a body schema (an object, or an array of objects) once. The returned function applies the
 * reference's lenient coercions, treats optional nulls as absent, drops unknown fields, and reports
 * every problem in pydantic's vocabulary so existing clients parse our 422s unchanged.
 */
export function compileBodyValidator<S extends TObject | TArray<TObject>>(schema: S): BodyValidator<Static<S>> {
  if (schema.type === "array") {
    const item = compileObject((schema as TArray<TObject>).items);
    return (input) => {
      if (!Array.isArray(input)) return fail([issue("list_type", [], "Input should be a valid list", input)]);
      const values: unknown[] = new Array(input.length);
      const issues: ValidationIssue[] = [];
      for (let i = 0; i < input.length; i++) {
        const result = item(input[i], [i]);
        if (result.ok) values[i] = result.value;
        else issues.push(...result.issues);
      }
      return issues.length ? fail(issues) : { ok: true, value: values as Static<S> };
    };
  }
  const object = compileObject(schema as TObject);
  return (input) => object(input, []) as Validated<Static<S>>;
}

function compileObject(schema: TObject) {
  const checker = TypeCompiler.Compile(schema);
  const required = new Set(schema.required ?? []);
  const properties = new Map<string, TSchema>(Object.entries(schema.properties));
  const order = new Map([...properties.keys()].map((key, i) => [key, i]));
  return (input: unknown, prefix: Loc): Validated<Record<string, unknown>> => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      return fail([issue("model_attributes_type", prefix, "Input should be a valid dictionary or object to extract fields from", input)]);
    }
    const source = input as Record<string, unknown>;
    // Built in the client's key order (PATCH reports fields in request order); unknown keys are dropped here.
    const value: Record<string, unknown> = {};
    const issues: ValidationIssue[] = [];
    for (const key of Object.keys(source)) {
      const property = properties.get(key);
      if (!property) continue;
      const raw = source[key];
      if (raw === null && !required.has(key)) continue;
      const coerced = coerce(property, raw, [...prefix, key]);
      if (coerced.issue) issues.push(coerced.issue);
      else value[key] = coerced.value;
    }
    if (issues.length === 0 && checker.Check(value)) return { ok: true, value };
    const seen = new Set(issues.map((i) => i.loc.join("\u0000")));
    for (const error of checker.Errors(value)) {
      const mapped = mapError(error, source, prefix);
      const key = mapped.loc.join("\u0000");
      if (seen.has(key)) continue;
      seen.add(key);
      issues.push(mapped);
    }
    // pydantic reports fields in declaration order; clients comparing error lists expect the same.
    const rank = (i: ValidationIssue) => order.get(String(i.loc[prefix.length + 1])) ?? Number.MAX_SAFE_INTEGER;
    return fail(issues.sort((a, b) => rank(a) - rank(b)));
  };
}

type Coerced = { value: unknown; issue?: undefined } | { issue: ValidationIssue; value?: undefined };

function coerce(schema: TSchema, raw: unknown, loc: Loc): Coerced {
  switch (schema.type) {
    case "integer":
      return coerceInteger(raw, loc);
    case "boolean":
      return coerceBoolean(raw, loc);
    case "string":
      if (typeof raw === "string" && !raw.isWellFormed()) {
        return { issue: issue("string_unicode", loc, "Input should be a valid string, unable to parse raw data as a unicode string", raw) };
      }
      return { value: raw };
    case "object": {
      const limit = schema["x-max-depth"] as number | undefined;
      if (limit !== undefined && depthExceeds(raw, limit)) {
        return { issue: issue("value_error", loc, `Value error, JSON nested deeper than ${limit} levels`, raw) };
      }
      const problem = typeof raw === "object" && raw !== null ? unstorableJson(raw) : null;
      if (problem === "unicode") {
        return { issue: issue("string_unicode", loc, "Input should contain only valid unicode strings (keys and values)", raw) };
      }
      if (problem === "non-finite") {
        return { issue: issue("finite_number", loc, "Input should contain only finite numbers (1e309 and the like overflow to Infinity)", raw) };
      }
      return { value: raw };
    }
    default:
      return { value: raw };
  }
}

/** True when `value` nests objects/arrays more than `limit` deep; iterative, so hostile depth cannot overflow the stack. */
function depthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * What would not survive storage as JSON text unchanged: a lone surrogate (kept only as an escape, not
 * well-formed text) or a number that overflowed to Infinity (JSON.stringify would silently write null).
 */
function unstorableJson(value: object): "unicode" | "non-finite" | null {
  const stack: unknown[] = [value];
  while (stack.length) {
    const node = stack.pop();
    if (typeof node === "string") {
      if (!node.isWellFormed()) return "unicode";
    } else if (typeof node === "number") {
      if (!Number.isFinite(node)) return "non-finite";
    } else if (typeof node === "object" && node !== null) {
      for (const [key, child] of Object.entries(node)) {
        if (!key.isWellFormed()) return "unicode";
        stack.push(child);
      }
    }
  }
  return null;
}

function coerceInteger(raw: unknown, loc: Loc): Coerced {
  if (typeof raw === "number") {
    if (Number.isInteger(raw)) return { value: raw };
    if (!Number.isFinite(raw)) return { issue: issue("finite_number", loc, "Input should be a finite number", raw) };
    return { issue: issue("int_from_float", loc, "Input should be a valid integer, got a number with a fractional part", raw) };
  }
  if (typeof raw === "string") {
    if (DECIMAL_INTEGER.test(raw)) return { value: Number(raw) };
    return { issue: issue("int_parsing", loc, "Input should be a valid integer, unable to parse string as an integer", raw) };
  }
  return { value: raw };
}

function coerceBoolean(raw: unknown, loc: Loc): Coerced {
  if (typeof raw === "boolean") return { value: raw };
  if (raw === 0 || raw === 1) return { value: raw === 1 };
  if (typeof raw === "string") {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return { value: true };
    if (FALSE_WORDS.has(word)) return { value: false };
  }
  if (typeof raw === "string" || typeof raw === "number") {
    return { issue: issue("bool_parsing", loc, "Input should be a valid boolean, unable to interpret input", raw) };
  }
  return { value: raw };
}

function mapError(error: ValueError, source: Record<string, unknown>, prefix: Loc): ValidationIssue {
  const field = error.path.split("/").slice(1).map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
  const loc = [...prefix, ...field];
  const input = error.value;
  const schema = error.schema;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return issue("missing", loc, "Field required", source);
    case ValueErrorType.String:
      return issue("string_type", loc, "Input should be a valid string", input);
    case ValueErrorType.Integer:
    case ValueErrorType.Number:
      return issue("int_type", loc, "Input should be a valid integer", input);
    case ValueErrorType.Boolean:
      return issue("bool_type", loc, "Input should be a valid boolean", input);
    case ValueErrorType.Object:
      return issue("dict_type", loc, "Input should be a valid dictionary", input);
    case ValueErrorType.StringMinLength: {
      const n = schema.minLength as number;
      return issue("string_too_short", loc, `String should have at least ${n} character${n === 1 ? "" : "s"}`, input, { min_length: n });
    }
    case ValueErrorType.StringMaxLength: {
      const n = schema.maxLength as number;
      return issue("string_too_long", loc, `String should have at most ${n} characters`, input, { max_length: n });
    }
    case ValueErrorType.IntegerMinimum:
      return issue("greater_than_equal", loc, `Input should be greater than or equal to ${schema.minimum}`, input, { ge: schema.minimum });
    case ValueErrorType.IntegerMaximum:
      return issue("less_than_equal", loc, `Input should be less than or equal to ${schema.maximum}`, input, { le: schema.maximum });
    case ValueErrorType.Union:
      return literalIssue(schema, loc, input);
    case ValueErrorType.StringFormat:
      return formatIssue(schema.format as string, loc, input);
    default:
      return issue("value_error", loc, `Value error, ${error.message}`, input);
  }
}

function literalIssue(schema: TSchema, loc: Loc, input: unknown): ValidationIssue {
  const options = ((schema.anyOf ?? []) as TSchema[]).filter((s) => s[Kind] === "Literal").map((s) => `'${s.const}'`);
  const expected = options.length > 1 ? `${options.slice(0, -1).join(", ")} or ${options.at(-1)}` : options.join("");
  if (typeof input !== "string") return issue("string_type", loc, "Input should be a valid string", input);
  return issue("literal_error", loc, `Input should be ${expected}`, input, { expected });
}

function formatIssue(format: string, loc: Loc, input: unknown): ValidationIssue {
  switch (format) {
    case Formats.zonedDateTime: {
      const parsed = parseZonedTimestamp(input as string);
      return issue("value_error", loc, TIMESTAMP_MESSAGES[parsed.ok ? "format" : parsed.problem], input);
    }
    case Formats.runStatus:
      return issue("value_error", loc, `Value error, ${STATUS_RULE_MESSAGE}`, input);
    case Formats.eventId:
      return issue("value_error", loc, "Value error, event_id must not be '.' or '..' (it could never be used in a URL)", input);
    case Formats.commitHash:
      return issue("value_error", loc, "Value error, commit_hash must be 7 to 40 hexadecimal characters (or 64 for SHA-256 repositories)", input);
    default:
      return issue("value_error", loc, `Value error, not a valid ${format}`, input);
  }
}

/** Echoing a hostile 100,000-level input back would cost seconds inside JSON.stringify before it overflows. */
const ECHO_DEPTH_LIMIT = 2 * MAX_JSON_DEPTH;
const tooDeepToEcho = new WeakMap<object, boolean>();
function echoable(input: unknown): unknown {
  if (typeof input !== "object" || input === null) return input;
  let deep = tooDeepToEcho.get(input);
  if (deep === undefined) tooDeepToEcho.set(input, (deep = depthExceeds(input, ECHO_DEPTH_LIMIT)));
  return deep ? `<omitted: nested more than ${ECHO_DEPTH_LIMIT} levels>` : input;
}

function issue(type: string, loc: Loc, msg: string, input: unknown, ctx?: Record<string, unknown>): ValidationIssue {
  const entry: ValidationIssue = { type, loc: ["body", ...loc], msg, input: echoable(input) };
  if (ctx) entry.ctx = ctx;
  return entry;
}

function fail<T>(issues: ValidationIssue[]): Validated<T> {
  return { ok: false, issues };
}

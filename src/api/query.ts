import type { TSchema } from "@sinclair/typebox";
import { normalizeStatus, STATUS_RULE_MESSAGE } from "../domain/statuses.ts";
import { parseFilterTimestamp } from "../domain/timestamps.ts";
import { HttpError } from "../http/responses.ts";
import type { ValidationIssue } from "../schema/validation.ts";
import { FILTER_COLUMNS, type RunQuery } from "../store/run-store.ts";

// Query-string parsing shared by the list, export and stats routes, with FastAPI's error shapes.

const TIME_FILTERS = [
  ["created_after", "createdAfterUs"],
  ["created_before", "createdBeforeUs"],
  ["start_time_from", "startFromUs"],
  ["start_time_to", "startToUs"],
] as const;

export type RunFilters = Omit<RunQuery, "limit" | "offset" | "after">;

/** The filters shared by list, export and stats: 400 for a bad status or timestamp. */
export function parseRunFilters(params: URLSearchParams): RunFilters {
  const query: RunFilters = { equals: {} };
  for (const column of FILTER_COLUMNS) {
    const values = params.getAll(column);
    if (values.length === 0) continue;
    // Starlette reads a repeated single-valued parameter as its last value; status alone takes them all.
    query.equals[column] = column === "status" ? values.map(filterStatus) : [values.at(-1)!];
  }
  for (const [name, key] of TIME_FILTERS) {
    const text = params.getAll(name).at(-1);
    if (text === undefined) continue;
    const parsed = parseFilterTimestamp(text);
    if (!parsed.ok) throw new HttpError(400, `Invalid ISO8601 timestamp for ${name}: '${text}'`);
    query[key] = parsed.micros;
  }
  return query;
}

function filterStatus(value: string): string {
  const status = normalizeStatus(value);
  if (!status) throw new HttpError(400, `Invalid status: '${value}'. ${STATUS_RULE_MESSAGE}`);
  return status;
}

/** The parameter's value within the schema's bounds, or its default; a problem is added to `issues` in FastAPI's shape. */
export function queryInteger(params: URLSearchParams, name: string, schema: TSchema, issues: ValidationIssue[]): number {
  const text = params.getAll(name).at(-1);
  const fallback = schema.default as number;
  if (text === undefined) return fallback;
  const loc = ["query", name];
  const value = /^\s*[+-]?\d+\s*$/.test(text) ? Number(text) : NaN;
  if (Number.isNaN(value)) {
    issues.push({ type: "int_parsing", loc, msg: "Input should be a valid integer, unable to parse string as an integer", input: text });
  } else if (value < schema.minimum) {
    issues.push({ type: "greater_than_equal", loc, msg: `Input should be greater than or equal to ${schema.minimum}`, input: text, ctx: { ge: schema.minimum } });
  } else if (value > schema.maximum) {
    issues.push({ type: "less_than_equal", loc, msg: `Input should be less than or equal to ${schema.maximum}`, input: text, ctx: { le: schema.maximum } });
  } else {
    return value;
  }
  return fallback;
}

/** A parameter limited to a few literal values: its last value, the fallback when absent, or a `literal_error` issue (pydantic's shape). */
export function literalChoice<const T extends readonly string[], F extends T[number] | null>(
  params: URLSearchParams,
  name: string,
  values: T,
  fallback: F,
): { ok: true; value: T[number] | F } | { ok: false; issue: ValidationIssue } {
  const text = params.getAll(name).at(-1);
  if (text === undefined) return { ok: true, value: fallback };
  if ((values as readonly string[]).includes(text)) return { ok: true, value: text as T[number] };
  const quoted = values.map((v) => `'${v}'`);
  const expected = `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
  return { ok: false, issue: { type: "literal_error", loc: ["query", name], msg: `Input should be ${expected}`, input: text, ctx: { expected } } };
}

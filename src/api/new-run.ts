import { stripCredentials } from "../domain/git-urls.ts";
import { normalizeStatus } from "../domain/statuses.ts";
import { nowTimestamp, parseZonedTimestamp, type Micros } from "../domain/timestamps.ts";
import type { RunUpdate, TelemetryRun } from "../schema/runs.ts";
import type { NewRun, SqlValue } from "../store/run-store.ts";

/** The micros of a timestamp the validator has already accepted. */
function micros(text: string): Micros {
  const parsed = parseZonedTimestamp(text);
  if (!parsed.ok) throw new Error(`unvalidated timestamp reached storage: ${parsed.problem}`);
  return parsed.micros;
}

/** Column values shared by create and update: canonical status, JSON text, credential-free repo URL. */
function storedValue(field: string, value: unknown): SqlValue {
  switch (field) {
    case "status":
      return normalizeStatus(value as string);
    case "metrics_json":
    case "context_json":
      return JSON.stringify(value);
    case "git_repo":
      return stripCredentials(value as string);
    default:
      return value as SqlValue;
  }
}

/** A validated run as the row to insert, with server defaults and the instants used for filtering. */
export function toNewRun(run: TelemetryRun): NewRun {
  const now = nowTimestamp();
  const row: NewRun = {};
  for (const [field, value] of Object.entries(run)) row[field] = storedValue(field, value);
  row.created_at ??= now.text;
  row.updated_at = now.text;
  row.created_at_us = run.created_at === undefined ? now.micros : micros(run.created_at);
  row.start_time_us = micros(run.start_time);
  return row;
}

/** PATCH fields (request order kept) as column values, plus the new updated_at. */
export function toUpdateFields(update: RunUpdate): { names: string[]; fields: Record<string, SqlValue> } {
  const names = Object.keys(update);
  const fields: Record<string, SqlValue> = {};
  for (const name of names) fields[name] = storedValue(name, update[name as keyof RunUpdate]);
  fields.updated_at = nowTimestamp().text;
  return { names, fields };
}

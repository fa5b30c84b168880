import { commitUrl, repoUrl } from "../domain/git-urls.ts";
import { nowTimestamp } from "../domain/timestamps.ts";
import { defineRoute, type Route } from "../http/route.ts";
import { HttpError, json, validationError } from "../http/responses.ts";
import type { ValidationIssue } from "../schema/validation.ts";
import { Type } from "@sinclair/typebox";
import { BATCH_EXAMPLE, COMMIT_ASSOCIATION_EXAMPLE, RUN_UPDATE_EXAMPLE, TELEMETRY_RUN_EXAMPLE } from "../schema/examples.ts";
import {
  BatchResponse, CommitAssociated, CommitUrlResponse, ErrorResponse, RepoUrlResponse, RunCreated, RunDuplicate, RunRecord, RunUpdated,
} from "../schema/responses.ts";
import { CommitAssociation, ListRunsQuery, RunUpdate, TelemetryRun, TelemetryRunBatch } from "../schema/runs.ts";
import type { RunPosition, RunQuery, RunStore } from "../store/run-store.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { toNewRun, toUpdateFields } from "./new-run.ts";
import { parseRunFilters, queryInteger } from "./query.ts";
import { toRunRecord } from "./run-record.ts";

const RUNS = "/api/v1/runs";
const RUN = `${RUNS}/{event_id}`;

const notFound = (eventId: string) => new HttpError(404, `Run not found: ${eventId}`);

export function runRoutes(store: RunStore): Route[] {
  const findRun = (eventId: string) => store.getRun(eventId) ?? raise(notFound(eventId));

  return [
    defineRoute({
      method: "POST",
      path: RUNS,
      summary: "Create a run (idempotent by event_id)",
      auth: true,
      rateLimited: true,
      body: { schema: TelemetryRun, size: "single", example: TELEMETRY_RUN_EXAMPLE },
      responses: {
        201: { description: "Run created.", schema: RunCreated },
        200: { description: "Known event_id: nothing changed (idempotent retry).", schema: RunDuplicate },
        400: { description: "Database integrity error.", schema: ErrorResponse },
      },
      async handle({ body }) {
        const [outcome] = await store.write({ kind: "insert", runs: [toNewRun(body)] });
        return outcome === "created"
          ? json(201, { status: "created", event_id: body.event_id, run_id: body.run_id })
          : json(200, { status: "duplicate", event_id: body.event_id, message: "Event already exists (idempotent)" });
      },
    }),
    defineRoute({
      method: "POST",
      path: `${RUNS}/batch`,
      summary: "Create many runs in one transaction",
      auth: true,
      rateLimited: true,
      body: { schema: TelemetryRunBatch, size: "batch", example: BATCH_EXAMPLE },
      responses: { 200: { description: "Counts of inserted and duplicate runs; one invalid item rejects the whole batch (422).", schema: BatchResponse } },
      async handle({ body }) {
        const outcomes = body.length ? await store.write({ kind: "insert", runs: body.map(toNewRun) }) : [];
        const inserted = outcomes.filter((o) => o === "created").length;
        return json(200, { inserted, duplicates: outcomes.length - inserted, errors: [], total: body.length });
      },
    }),
    defineRoute({
      method: "GET",
      path: RUNS,
      summary: "Query runs, newest first",
      auth: false,
      rateLimited: true,
      query: ListRunsQuery,
      responses: {
        200: {
          description: "Matching runs, newest created_at first.",
          schema: Type.Array(RunRecord),
          headers: {
            "X-Next-Cursor": { description: "Present when more runs match: pass it as `cursor` for the next page.", schema: Type.String() },
            Link: { description: 'The next page\'s URL (relative), `<...>; rel="next"`, present with X-Next-Cursor.', schema: Type.String() },
          },
        },
        400: { description: "Invalid status, timestamp filter or cursor, or cursor combined with offset.", schema: ErrorResponse },
      },
      handle({ query }) {
        const page = store.listRuns(parseListQuery(query));
        return json(200, page.rows.map(toRunRecord), page.next ? nextPageHeaders(RUNS, query, page.next) : {});
      },
    }),
    defineRoute({
      method: "GET",
      path: RUN,
      summary: "Get one run by event_id",
      auth: false,
      rateLimited: true,
      responses: { 200: { description: "The run (an object, not an array).", schema: RunRecord } },
      handle({ params }) {
        return json(200, toRunRecord(findRun(params.event_id!)));
      },
    }),
    defineRoute({
      method: "PATCH",
      path: RUN,
      summary: "Update fields of a run (nulls ignored)",
      auth: true,
      rateLimited: true,
      body: { schema: RunUpdate, size: "single", example: RUN_UPDATE_EXAMPLE },
      responses: {
        200: { description: "Update applied.", schema: RunUpdated },
        400: { description: "No valid fields to update.", schema: ErrorResponse },
      },
      async handle({ params, body }) {
        const eventId = params.event_id!;
        const { names, fields } = toUpdateFields(body);
        if (names.length === 0) {
          findRun(eventId);
          throw new HttpError(400, "No valid fields to update");
        }
        if (!(await store.write({ kind: "update", eventId, fields }))) throw notFound(eventId);
        return json(200, { event_id: eventId, updated: true, fields_updated: names });
      },
    }),
    defineRoute({
      method: "POST",
      path: `${RUN}/associate-commit`,
      summary: "Associate a git commit with a run",
      auth: true,
      rateLimited: true,
      body: { schema: CommitAssociation, size: "single", example: COMMIT_ASSOCIATION_EXAMPLE },
      responses: { 200: { description: "Association saved.", schema: CommitAssociated } },
      async handle({ params, body }) {
        const eventId = params.event_id!;
        // All four describe one commit: an author or time left out must not survive from an earlier commit.
        const fields = {
          git_commit_hash: body.commit_hash,
          git_commit_source: body.commit_source,
          git_commit_author: body.commit_author ?? null,
          git_commit_timestamp: body.commit_timestamp ?? null,
          updated_at: nowTimestamp().text,
        };
        const updated = await store.write({ kind: "update", eventId, fields });
        if (!updated) throw notFound(eventId);
        return json(200, { status: "success", event_id: eventId, run_id: updated.runId, commit_hash: body.commit_hash });
      },
    }),
    defineRoute({
      method: "GET",
      path: `${RUN}/commit-url`,
      summary: "Web URL of the run's commit",
      auth: true,
      rateLimited: true,
      responses: { 200: { description: "The commit URL, or null for unsupported hosts or a missing hash.", schema: CommitUrlResponse } },
      handle({ params }) {
        const run = findRun(params.event_id!);
        return json(200, { commit_url: commitUrl(run.git_repo as string | null, run.git_commit_hash as string | null) });
      },
    }),
    defineRoute({
      method: "GET",
      path: `${RUN}/repo-url`,
      summary: "Web URL of the run's repository",
      auth: true,
      rateLimited: true,
      responses: { 200: { description: "The repository URL, or null for unsupported hosts.", schema: RepoUrlResponse } },
      handle({ params }) {
        return json(200, { repo_url: repoUrl(findRun(params.event_id!).git_repo as string | null) });
      },
    }),
  ];
}

function raise(error: Error): never {
  throw error;
}

/**
 * Query string → RunQuery: 422 for limit/offset (FastAPI's shape), 400 for bad status or timestamps (the contract's)
 * and for a cursor that is unreadable or sent with a non-zero offset (two positions at once: we refuse to guess).
 */
export function parseListQuery(params: URLSearchParams): RunQuery {
  const issues: ValidationIssue[] = [];
  const limit = queryInteger(params, "limit", ListRunsQuery.properties.limit, issues);
  const offset = queryInteger(params, "offset", ListRunsQuery.properties.offset, issues);
  if (issues.length) throw validationError(issues);
  const query: RunQuery = { ...parseRunFilters(params), limit, offset };
  const cursor = params.getAll("cursor").at(-1);
  if (cursor !== undefined) {
    query.after = decodeCursor(cursor) ?? raise(new HttpError(400, "Invalid cursor"));
    if (offset > 0) throw new HttpError(400, "cursor and offset cannot be combined: follow X-Next-Cursor without offset");
  }
  return query;
}

/** The headers that point at the page after `next`: the same query with the cursor in place of any offset. */
export function nextPageHeaders(path: string, params: URLSearchParams, next: RunPosition): Record<string, string> {
  const cursor = encodeCursor(next);
  const following = new URLSearchParams(params);
  following.delete("offset");
  following.set("cursor", cursor);
  // Relative, so it stays right behind a reverse proxy that keeps paths (RFC 8288 allows a URI-reference).
  return { "x-next-cursor": cursor, link: `<${path}?${following}>; rel="next"` };
}

import { expect } from "bun:test";
import { runScenarios, type Scenario } from "../support/scenarios.ts";
import { makeRun, type TestServer } from "../support/server.ts";
import { RUN_UPDATE_EXAMPLE } from "../../src/schema/examples.ts";
import { expectAbsent, getText, runPath } from "../support/runs.ts";

// PATCH /api/v1/runs/{event_id} and POST /api/v1/runs/{event_id}/associate-commit against
// behaviours.md ("PATCH", "associate-commit", "Wire format", "Timestamps", "Statuses") and the
// reference's RunUpdate / CommitAssociation schemas.

const RUNS = "/api/v1/runs";
const commitPath = (id: string) => `${runPath(id)}/associate-commit`;
const SERVER_NOW = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;
const ALLOWED_STATUSES = "running, success, failure, partial, timeout, cancelled";
const NO_FIELDS = { detail: "No valid fields to update" };
const PATCH_COUNTERS = ["duration_ms", "items_succeeded", "items_failed", "items_skipped"] as const;

type Json = Record<string, unknown>;
type Ctx = Record<string, string>;


async function getRun(server: TestServer, id: string): Promise<Json> {
  return JSON.parse(await getText(server, runPath(id))) as Json;
}


/** setup: POSTs a fresh run; ctx gets its id, run_id, updated_at and the whole stored record as text. */
function seed(overrides: Json = {}) {
  return async (server: TestServer): Promise<Ctx> => {
    const run = makeRun(overrides);
    const response = await server.call("POST", RUNS, run);
    expect({ status: response.status, text: await response.text() }).toMatchObject({ status: 201 });
    const before = await getText(server, runPath(run.event_id as string));
    const record = JSON.parse(before) as Json;
    return { id: run.event_id as string, run_id: run.run_id as string, updated_at: String(record.updated_at), before };
  };
}

/** after: the stored run is byte-for-byte what it was before the request. */
async function untouched(server: TestServer, _body: unknown, ctx: Ctx): Promise<void> {
  expect(await getText(server, runPath(ctx.id!))).toBe(ctx.before!);
}

/** PATCH of a seeded run that is applied: 200 with fields_updated as given, then GET matches `stored`. */
function patched(name: string, seedWith: Json, body: Json | string, fields: string[], stored: Json): Scenario {
  return {
    name,
    method: "PATCH",
    setup: seed(seedWith),
    path: (ctx) => runPath(ctx.id!),
    body,
    status: 200,
    json: { updated: true, fields_updated: fields },
    after: async (server, response, ctx) => {
      expect(response).toEqual({ event_id: ctx.id, updated: true, fields_updated: fields });
      expect(await getRun(server, ctx.id!)).toMatchObject(stored);
    },
  };
}

/** PATCH of a seeded run rejected with a 422 whose single issue is at [body, ...loc]; run untouched. */
function patchRejected(name: string, body: Json | string, issue: { loc: (string | number)[]; type?: string }, includes: string[] = []): Scenario {
  const expected: Json = { loc: ["body", ...issue.loc] };
  if (issue.type) expected.type = issue.type;
  return {
    name,
    method: "PATCH",
    setup: seed(),
    path: (ctx) => runPath(ctx.id!),
    body,
    status: 422,
    json: { detail: [expected] },
    includes,
    after: untouched,
  };
}

// ---------------------------------------------------------------------------------------------------
// PATCH: success shapes
// ---------------------------------------------------------------------------------------------------

const patchSuccess: Scenario[] = [
  {
    name: "200 {event_id, updated:true, fields_updated in request order}; fields stored; updated_at changes",
    method: "PATCH",
    setup: seed({ status: "running" }),
    path: (ctx) => runPath(ctx.id!),
    body: { output_summary: "done", status: "success", duration_ms: 5000, end_time: "2026-01-05T18:45:10Z", items_succeeded: 10 },
    status: 200,
    json: { updated: true, fields_updated: ["output_summary", "status", "duration_ms", "end_time", "items_succeeded"] },
    after: async (server, body, ctx) => {
      expect(body).toEqual({ event_id: ctx.id, updated: true, fields_updated: ["output_summary", "status", "duration_ms", "end_time", "items_succeeded"] });
      const record = await getRun(server, ctx.id!);
      expect(record).toMatchObject({ output_summary: "done", status: "success", duration_ms: 5000, end_time: "2026-01-05T18:45:10Z", items_succeeded: 10 });
      expect(record.updated_at).toMatch(SERVER_NOW);
      expect(record.updated_at).not.toBe(ctx.updated_at);
      expect(JSON.parse(ctx.before!)).toMatchObject({ status: "running", output_summary: null, duration_ms: 0 });
    },
  },
  patched(
    "fields_updated follows the request's order, not the schema's",
    {},
    { items_skipped: 1, error_details: "trace", items_failed: 2, error_summary: "boom", status: "failure" },
    ["items_skipped", "error_details", "items_failed", "error_summary", "status"],
    { items_skipped: 1, error_details: "trace", items_failed: 2, error_summary: "boom", status: "failure" },
  ),
  patched(
    "the reference's RunUpdate example: every field applied",
    { status: "running" },
    RUN_UPDATE_EXAMPLE,
    [
      "status",
      "end_time",
      "duration_ms",
      "output_summary",
      "items_succeeded",
      "items_failed",
      "items_skipped",
      "metrics_json",
      "context_json",
      "git_commit_source",
      "git_commit_author",
      "git_commit_timestamp",
    ],
    RUN_UPDATE_EXAMPLE,
  ),
  patched(
    "nulls are ignored: only the non-null field is updated, others keep their values",
    { status: "running", duration_ms: 7, error_summary: "old" },
    { status: null, error_summary: "new", duration_ms: null, metrics_json: null },
    ["error_summary"],
    { status: "running", duration_ms: 7, error_summary: "new", metrics_json: null },
  ),
  patched(
    "unknown fields and create-only fields (agent_name, items_discovered, git_repo, created_at) are ignored beside a valid one",
    { agent_name: "keep-me", items_discovered: 3, git_repo: "https://github.com/o/r" },
    { agent_name: "changed", mystery: 1, items_discovered: 99, git_repo: "https://github.com/x/y", created_at: "2020-01-01T00:00:00Z", status: "partial" },
    ["status"],
    { agent_name: "keep-me", items_discovered: 3, git_repo: "https://github.com/o/r", status: "partial" },
  ),
  patched("status alias failed is stored as failure", {}, { status: "failed" }, ["status"], { status: "failure" }),
  patched("status alias completed is stored as success", {}, { status: "completed" }, ["status"], { status: "success" }),
  patched("status alias succeeded is stored as success", {}, { status: "succeeded" }, ["status"], { status: "success" }),
  ...["running", "success", "failure", "partial", "timeout", "cancelled"].map((s) =>
    patched(`canonical status ${s} is stored as is`, { status: s === "running" ? "success" : "running" }, { status: s }, ["status"], { status: s }),
  ),
  patched(
    "metrics_json is replaced, not merged",
    { metrics_json: { a: 1, b: 2 } },
    { metrics_json: { c: 3 } },
    ["metrics_json"],
    { metrics_json: { c: 3 } },
  ),
  {
    name: "metrics_json and context_json replaced exactly (no old keys left)",
    method: "PATCH",
    setup: seed({ metrics_json: { a: 1, b: 2 }, context_json: { old: true } }),
    path: (ctx) => runPath(ctx.id!),
    body: { context_json: { fresh: [1] }, metrics_json: { c: 3 } },
    status: 200,
    json: { updated: true, fields_updated: ["context_json", "metrics_json"] },
    after: async (server, _body, ctx) => {
      const record = await getRun(server, ctx.id!);
      expect(record.metrics_json).toEqual({ c: 3 });
      expect(record.context_json).toEqual({ fresh: [1] });
    },
  },
  patched('counters take decimal strings: duration_ms "42"', {}, { duration_ms: "42" }, ["duration_ms"], { duration_ms: 42 }),
  patched("counters take integral floats: items_failed 3.0", {}, '{"items_failed":3.0}', ["items_failed"], { items_failed: 3 }),
  patched("counters up to 2^53-1 are read back exactly", {}, { duration_ms: 2 ** 53 - 1 }, ["duration_ms"], { duration_ms: 2 ** 53 - 1 }),
  patched("end_time with +0530 is stored exactly as sent", {}, { end_time: "2026-01-06T00:10:27+0530" }, ["end_time"], { end_time: "2026-01-06T00:10:27+0530" }),
  patched(
    "end_time with 9 fraction digits and lower-case z is stored exactly",
    {},
    { end_time: "2026-01-05t18:40:27.123456789z" },
    ["end_time"],
    { end_time: "2026-01-05t18:40:27.123456789z" },
  ),
  patched(
    "git_commit_source/author/timestamp via PATCH are stored",
    {},
    { git_commit_source: "manual", git_commit_author: "Dev <d@example.com>", git_commit_timestamp: "2026-01-05T10:00:00-08:00" },
    ["git_commit_source", "git_commit_author", "git_commit_timestamp"],
    { git_commit_source: "manual", git_commit_author: "Dev <d@example.com>", git_commit_timestamp: "2026-01-05T10:00:00-08:00" },
  ),
  {
    name: "PATCH body sent as text/plain is still parsed as JSON",
    method: "PATCH",
    setup: seed(),
    path: (ctx) => runPath(ctx.id!),
    body: JSON.stringify({ status: "timeout" }),
    headers: { "content-type": "text/plain" },
    status: 200,
    json: { updated: true, fields_updated: ["status"] },
    after: async (server, _body, ctx) => {
      expect(await getRun(server, ctx.id!)).toMatchObject({ status: "timeout" });
    },
  },
  {
    name: "the same PATCH twice: both 200 (idempotent), value unchanged",
    method: "PATCH",
    setup: async (server) => {
      const ctx = await seed()(server);
      const first = await server.call("PATCH", runPath(ctx.id!), { status: "cancelled" });
      expect(first.status).toBe(200);
      return ctx;
    },
    path: (ctx) => runPath(ctx.id!),
    body: { status: "cancelled" },
    status: 200,
    json: { updated: true, fields_updated: ["status"] },
    after: async (server, _body, ctx) => {
      expect(await getRun(server, ctx.id!)).toMatchObject({ status: "cancelled" });
    },
  },
];

// ---------------------------------------------------------------------------------------------------
// PATCH: errors and the order of checks (422 → 404 → 400)
// ---------------------------------------------------------------------------------------------------

const ghost = "no-such-run-for-patch";

const patchErrors: Scenario[] = [
  { name: "only nulls: 400 No valid fields to update, run untouched", method: "PATCH", setup: seed(), path: (c) => runPath(c.id!), body: { status: null, end_time: null, metrics_json: null }, status: 400, json: NO_FIELDS, after: untouched },
  { name: "only unknown fields: 400, run untouched", method: "PATCH", setup: seed(), path: (c) => runPath(c.id!), body: { mystery: 1, agent_name: "x" }, status: 400, json: NO_FIELDS, after: untouched },
  { name: "empty object on a known id: 400, run untouched", method: "PATCH", setup: seed(), path: (c) => runPath(c.id!), body: {}, status: 400, json: NO_FIELDS, after: untouched },
  { name: "empty object on an unknown id: 404 (existence before the 400)", method: "PATCH", path: runPath(ghost), body: {}, status: 404, json: { detail: `Run not found: ${ghost}` } },
  { name: "only nulls on an unknown id: 404", method: "PATCH", path: runPath(ghost), body: { status: null }, status: 404, json: { detail: `Run not found: ${ghost}` } },
  { name: "valid field on an unknown id: 404", method: "PATCH", path: runPath(ghost), body: { status: "success" }, status: 404, json: { detail: `Run not found: ${ghost}` } },
  {
    name: "invalid body on an unknown id: 422 (validation before existence)",
    method: "PATCH",
    path: runPath(ghost),
    body: { status: "bogus" },
    status: 422,
    json: { detail: [{ loc: ["body", "status"], type: "value_error" }] },
  },
  {
    name: "negative counter on an unknown id: 422",
    method: "PATCH",
    path: runPath(ghost),
    body: { duration_ms: -1 },
    status: 422,
    json: { detail: [{ loc: ["body", "duration_ms"] }] },
  },
  {
    name: "non-JSON body on an unknown id: 422 json_invalid",
    method: "PATCH",
    path: runPath(ghost),
    body: "{status: success}",
    status: 422,
    json: { detail: [{ type: "json_invalid", loc: ["body", 1], msg: "JSON decode error" }] },
  },
  {
    name: "non-JSON body on a known id: 422 json_invalid, run untouched",
    method: "PATCH",
    setup: seed(),
    path: (c) => runPath(c.id!),
    body: "nope",
    status: 422,
    json: { detail: [{ type: "json_invalid", loc: ["body", 0], msg: "JSON decode error" }] },
    after: untouched,
  },
  { name: "zero-byte body on a known id: 422, run untouched", method: "PATCH", setup: seed(), path: (c) => runPath(c.id!), body: "", status: 422, includes: ['"loc":["body"'], after: untouched },
  { name: "a JSON array body: 422 at [body]", method: "PATCH", setup: seed(), path: (c) => runPath(c.id!), body: [{ status: "success" }], status: 422, json: { detail: [{ loc: ["body"] }] }, after: untouched },
  patchRejected("invalid status: 422 value_error naming the allowed values", { status: "finished" }, { loc: ["status"], type: "value_error" }, [ALLOWED_STATUSES]),
  patchRejected("status as a number: 422 string_type", { status: 3 }, { loc: ["status"], type: "string_type" }),
  ...PATCH_COUNTERS.flatMap((field) => [
    patchRejected(`${field} -1: 422, run untouched`, { [field]: -1 }, { loc: [field] }),
    patchRejected(`${field} 2^53: 422, run untouched`, { [field]: 2 ** 53 }, { loc: [field] }),
  ]),
  patchRejected("duration_ms 2.5: 422 int_from_float", { duration_ms: 2.5 }, { loc: ["duration_ms"], type: "int_from_float" }),
  patchRejected("items_failed as a list: 422 int_type", { items_failed: [1] }, { loc: ["items_failed"], type: "int_type" }),
  patchRejected("error_summary as a number: 422 string_type", { error_summary: 500 }, { loc: ["error_summary"], type: "string_type" }),
  patchRejected("metrics_json as an array: 422 dict_type", { metrics_json: [1] }, { loc: ["metrics_json"], type: "dict_type" }),
  patchRejected("context_json as a string: 422 dict_type", { context_json: "{}" }, { loc: ["context_json"], type: "dict_type" }),
  patchRejected("git_commit_source invalid: 422", { git_commit_source: "robot" }, { loc: ["git_commit_source"] }),
  patchRejected("end_time without a zone: 422", { end_time: "2026-01-05T18:45:10" }, { loc: ["end_time"] }),
  patchRejected("end_time Feb 30: 422", { end_time: "2026-02-30T18:45:10Z" }, { loc: ["end_time"] }),
  patchRejected("end_time hour 24: 422", { end_time: "2026-01-05T24:00:00Z" }, { loc: ["end_time"] }),
  patchRejected("git_commit_timestamp Apr 31: 422", { git_commit_timestamp: "2026-04-31T10:00:00Z" }, { loc: ["git_commit_timestamp"] }),
  patchRejected("git_commit_timestamp without a zone: 422", { git_commit_timestamp: "2026-01-05 10:00:00" }, { loc: ["git_commit_timestamp"] }),
  patchRejected("a valid field beside an invalid one: 422, nothing applied", { output_summary: "should not land", duration_ms: -5 }, { loc: ["duration_ms"] }),
  patchRejected('lone surrogate "\\ud800" in output_summary: 422 at that field', '{"output_summary":"x\\ud800"}', { loc: ["output_summary"] }),
];

// ---------------------------------------------------------------------------------------------------
// associate-commit
// ---------------------------------------------------------------------------------------------------

const HEX7 = "abcdef1";
const HEX40 = "0123456789abcdef0123456789abcdef01234567";
const HEX64 = "0123456789abcdef".repeat(4);
const REPO = "https://github.com/acme/widgets";

function associated(name: string, hash: string): Scenario {
  return {
    name,
    method: "POST",
    setup: seed({ git_repo: REPO }),
    path: (ctx) => commitPath(ctx.id!),
    body: { commit_hash: hash, commit_source: "llm" },
    status: 200,
    json: { status: "success", commit_hash: hash },
    after: async (server, body, ctx) => {
      expect(body).toEqual({ status: "success", event_id: ctx.id, run_id: ctx.run_id, commit_hash: hash });
      expect(await getRun(server, ctx.id!)).toMatchObject({ git_commit_hash: hash, git_commit_source: "llm", commit_url: `${REPO}/commit/${hash}` });
      expect(JSON.parse(await getText(server, `${runPath(ctx.id!)}/commit-url`))).toEqual({ commit_url: `${REPO}/commit/${hash}` });
    },
  };
}

function commitRejected(name: string, body: Json | string, loc: (string | number)[], type?: string): Scenario {
  const expected: Json = { loc: ["body", ...loc] };
  if (type) expected.type = type;
  return {
    name,
    method: "POST",
    setup: seed({ git_repo: REPO }),
    path: (ctx) => commitPath(ctx.id!),
    body,
    status: 422,
    json: { detail: [expected] },
    after: untouched,
  };
}

const ghostCommit = "no-such-run-for-commit";

const associate: Scenario[] = [
  {
    name: "200 {status:success, event_id, run_id, commit_hash}; hash/source/author/timestamp visible via GET and /commit-url",
    method: "POST",
    setup: seed({ git_repo: REPO }),
    path: (ctx) => commitPath(ctx.id!),
    body: { commit_hash: "abc1234567890abcdef", commit_source: "llm", commit_author: "Claude Code <noreply@anthropic.com>", commit_timestamp: "2026-01-02T10:00:00Z" },
    status: 200,
    json: { status: "success", commit_hash: "abc1234567890abcdef" },
    after: async (server, body, ctx) => {
      expect(body).toEqual({ status: "success", event_id: ctx.id, run_id: ctx.run_id, commit_hash: "abc1234567890abcdef" });
      const record = await getRun(server, ctx.id!);
      expect(record).toMatchObject({
        git_commit_hash: "abc1234567890abcdef",
        git_commit_source: "llm",
        git_commit_author: "Claude Code <noreply@anthropic.com>",
        git_commit_timestamp: "2026-01-02T10:00:00Z",
        commit_url: `${REPO}/commit/abc1234567890abcdef`,
        repo_url: REPO,
      });
      expect(record.updated_at).toMatch(SERVER_NOW);
      expect(record.updated_at).not.toBe(ctx.updated_at);
      expect(JSON.parse(await getText(server, `${runPath(ctx.id!)}/commit-url`))).toEqual({ commit_url: `${REPO}/commit/abc1234567890abcdef` });
      expect(JSON.parse(await getText(server, `${runPath(ctx.id!)}/repo-url`))).toEqual({ repo_url: REPO });
    },
  },
  associated("7 hex characters accepted", HEX7),
  associated("40 hex characters accepted", HEX40),
  associated("64 hex characters accepted (SHA-256, better)", HEX64),
  associated("upper-case hex accepted", "ABCDEF0123"),
  ...(["manual", "ci"] as const).map(
    (source): Scenario => ({
      name: `commit_source ${source} accepted and stored`,
      method: "POST",
      setup: seed(),
      path: (ctx) => commitPath(ctx.id!),
      body: { commit_hash: HEX7, commit_source: source },
      status: 200,
      json: { status: "success", commit_hash: HEX7 },
      after: async (server, _body, ctx) => {
        expect(await getRun(server, ctx.id!)).toMatchObject({ git_commit_hash: HEX7, git_commit_source: source });
      },
    }),
  ),
  {
    name: "re-association replaces the hash; commit-url follows",
    method: "POST",
    setup: async (server) => {
      const ctx = await seed({ git_repo: REPO })(server);
      expect((await server.call("POST", commitPath(ctx.id!), { commit_hash: HEX7, commit_source: "manual" })).status).toBe(200);
      return ctx;
    },
    path: (ctx) => commitPath(ctx.id!),
    body: { commit_hash: HEX40, commit_source: "ci" },
    status: 200,
    json: { status: "success", commit_hash: HEX40 },
    after: async (server, _body, ctx) => {
      expect(await getRun(server, ctx.id!)).toMatchObject({ git_commit_hash: HEX40, git_commit_source: "ci" });
      expect(JSON.parse(await getText(server, `${runPath(ctx.id!)}/commit-url`))).toEqual({ commit_url: `${REPO}/commit/${HEX40}` });
    },
  },
  {
    name: "associating on a run without git_repo: 200, commit-url is null",
    method: "POST",
    setup: seed(),
    path: (ctx) => commitPath(ctx.id!),
    body: { commit_hash: HEX7, commit_source: "llm" },
    status: 200,
    json: { status: "success", commit_hash: HEX7 },
    after: async (server, _body, ctx) => {
      expect(JSON.parse(await getText(server, `${runPath(ctx.id!)}/commit-url`))).toEqual({ commit_url: null });
    },
  },
  {
    name: "commit_timestamp in -08:00 with fraction is stored exactly",
    method: "POST",
    setup: seed(),
    path: (ctx) => commitPath(ctx.id!),
    body: { commit_hash: HEX7, commit_source: "llm", commit_timestamp: "2026-01-02T02:00:00.5-08:00" },
    status: 200,
    json: { status: "success" },
    after: async (server, _body, ctx) => {
      expect(await getRun(server, ctx.id!)).toMatchObject({ git_commit_timestamp: "2026-01-02T02:00:00.5-08:00" });
    },
  },
  commitRejected("6 characters: 422 at [body, commit_hash]", { commit_hash: "abcdef", commit_source: "llm" }, ["commit_hash"]),
  commitRejected("41 characters: 422", { commit_hash: HEX40 + "a", commit_source: "llm" }, ["commit_hash"]),
  commitRejected("63 characters: 422", { commit_hash: HEX64.slice(1), commit_source: "llm" }, ["commit_hash"]),
  commitRejected("65 characters: 422", { commit_hash: HEX64 + "a", commit_source: "llm" }, ["commit_hash"]),
  commitRejected("non-hex (g): 422", { commit_hash: "abcdefg", commit_source: "llm" }, ["commit_hash"]),
  commitRejected("non-hex words: 422", { commit_hash: "not-a-commit-hash", commit_source: "llm" }, ["commit_hash"]),
  commitRejected("hash with a trailing space: 422", { commit_hash: "abcdef1 ", commit_source: "llm" }, ["commit_hash"]),
  commitRejected("empty hash: 422", { commit_hash: "", commit_source: "llm" }, ["commit_hash"]),
  commitRejected("hash as a number: 422 string_type", { commit_hash: 1234567, commit_source: "llm" }, ["commit_hash"], "string_type"),
  commitRejected("missing commit_hash: 422 missing", { commit_source: "llm" }, ["commit_hash"], "missing"),
  commitRejected("missing commit_source: 422 missing", { commit_hash: HEX7 }, ["commit_source"], "missing"),
  commitRejected("commit_source human: 422", { commit_hash: HEX7, commit_source: "human" }, ["commit_source"]),
  commitRejected("commit_source LLM (case): 422", { commit_hash: HEX7, commit_source: "LLM" }, ["commit_source"]),
  commitRejected("commit_timestamp without a zone: 422", { commit_hash: HEX7, commit_source: "llm", commit_timestamp: "2026-01-02T10:00:00" }, ["commit_timestamp"]),
  commitRejected("commit_timestamp Feb 29 2023: 422", { commit_hash: HEX7, commit_source: "llm", commit_timestamp: "2023-02-29T10:00:00Z" }, ["commit_timestamp"]),
  commitRejected("commit_timestamp minute 60: 422", { commit_hash: HEX7, commit_source: "llm", commit_timestamp: "2026-01-02T10:60:00Z" }, ["commit_timestamp"]),
  commitRejected("commit_author as a number: 422 string_type", { commit_hash: HEX7, commit_source: "llm", commit_author: 7 }, ["commit_author"], "string_type"),
  {
    name: "non-JSON body: 422 json_invalid, run untouched",
    method: "POST",
    setup: seed(),
    path: (ctx) => commitPath(ctx.id!),
    body: "commit_hash=abcdef1",
    status: 422,
    json: { detail: [{ type: "json_invalid", loc: ["body", 0], msg: "JSON decode error" }] },
    after: untouched,
  },
  {
    name: "unknown id: 404 Run not found: <id>",
    method: "POST",
    path: commitPath(ghostCommit),
    body: { commit_hash: HEX7, commit_source: "llm" },
    status: 404,
    json: { detail: `Run not found: ${ghostCommit}` },
    after: (server) => expectAbsent(server, ghostCommit),
  },
  {
    name: "unknown id with an invalid body: 422 (validation before existence)",
    method: "POST",
    path: commitPath(ghostCommit),
    body: { commit_hash: "xyz", commit_source: "llm" },
    status: 422,
    json: { detail: [{ loc: ["body", "commit_hash"] }] },
  },
  {
    name: "unknown id: commit-url and repo-url are 404 too",
    method: "GET",
    path: `${runPath(ghostCommit)}/commit-url`,
    status: 404,
    json: { detail: `Run not found: ${ghostCommit}` },
    after: async (server) => {
      const response = await server.call("GET", `${runPath(ghostCommit)}/repo-url`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ detail: `Run not found: ${ghostCommit}` });
    },
  },
];

// ---------------------------------------------------------------------------------------------------
// event_ids that need percent-encoding: POST → GET → PATCH → associate-commit → commit-url
// ---------------------------------------------------------------------------------------------------

const SPECIAL_IDS = [
  ["a space", `evt with space ${process.pid}`],
  ["slashes (%2F)", `evt/with/slash/${process.pid}`],
  ["unicode", `évt-ünïcödé-日本-\u{1F680}-${process.pid}`],
  ["?, # and %", `evt?q=1#frag%-${process.pid}`],
  ["a literal %20 (decoded once, not twice)", `evt%20literal-${process.pid}`],
] as const;

const encodedIds: Scenario[] = SPECIAL_IDS.flatMap(([label, id]): Scenario[] => [
  {
    name: `[${label}] POST creates the run under the exact id`,
    method: "POST",
    path: RUNS,
    body: makeRun({ event_id: id, git_repo: REPO }),
    status: 201,
    json: { status: "created", event_id: id },
    after: async (server) => {
      expect(await getRun(server, id)).toMatchObject({ event_id: id, status: "running" });
    },
  },
  {
    name: `[${label}] GET by the percent-encoded id returns that one run`,
    method: "GET",
    path: runPath(id),
    status: 200,
    json: { event_id: id, repo_url: REPO },
  },
  {
    name: `[${label}] PATCH by the percent-encoded id updates it`,
    method: "PATCH",
    path: runPath(id),
    body: { status: "completed", output_summary: `patched ${label}` },
    status: 200,
    json: { event_id: id, updated: true, fields_updated: ["status", "output_summary"] },
    after: async (server) => {
      expect(await getRun(server, id)).toMatchObject({ event_id: id, status: "success", output_summary: `patched ${label}` });
    },
  },
  {
    name: `[${label}] associate-commit and commit-url by the percent-encoded id`,
    method: "POST",
    path: commitPath(id),
    body: { commit_hash: HEX7, commit_source: "ci" },
    status: 200,
    json: { status: "success", event_id: id, commit_hash: HEX7 },
    after: async (server) => {
      expect(JSON.parse(await getText(server, `${runPath(id)}/commit-url`))).toEqual({ commit_url: `${REPO}/commit/${HEX7}` });
      expect(await getRun(server, id)).toMatchObject({ git_commit_hash: HEX7, git_commit_source: "ci" });
    },
  },
]);
encodedIds.push(
  {
    name: "an unknown percent-encoded id: 404 naming the decoded id",
    method: "PATCH",
    path: runPath("ghost/with space-é"),
    body: { status: "success" },
    status: 404,
    json: { detail: "Run not found: ghost/with space-é" },
  },
  {
    name: "the %2F id is not confused with a shorter id or a sub-route",
    method: "GET",
    path: `${RUNS}/evt/with/slash/${process.pid}`,
    status: 404,
    json: { detail: "Not Found" },
    excludes: [`"event_id":"evt/with/slash/${process.pid}"`],
  },
);

// ---------------------------------------------------------------------------------------------------
// Body size limit on PATCH and associate-commit (single-run limit)
// ---------------------------------------------------------------------------------------------------

const sizeLimit: Scenario[] = [
  {
    name: "PATCH body over TELEMETRY_MAX_BODY_BYTES=2048: 413 JSON detail, run untouched",
    method: "PATCH",
    setup: seed(),
    path: (ctx) => runPath(ctx.id!),
    body: { output_summary: "p".repeat(4000) },
    status: 413,
    json: { detail: expect.any(String) },
    after: untouched,
  },
  {
    name: "PATCH body under the limit: 200",
    method: "PATCH",
    setup: seed(),
    path: (ctx) => runPath(ctx.id!),
    body: { output_summary: "q".repeat(1000) },
    status: 200,
    json: { updated: true, fields_updated: ["output_summary"] },
  },
  {
    name: "associate-commit body over TELEMETRY_MAX_BODY_BYTES=2048: 413, run untouched",
    method: "POST",
    setup: seed(),
    path: (ctx) => commitPath(ctx.id!),
    body: { commit_hash: HEX7, commit_source: "llm", commit_author: "a".repeat(4000) },
    status: 413,
    json: { detail: expect.any(String) },
    after: untouched,
  },
];

runScenarios("PATCH /api/v1/runs/{event_id}: applied updates", patchSuccess);
runScenarios("PATCH /api/v1/runs/{event_id}: errors and order of checks", patchErrors);
runScenarios("POST /api/v1/runs/{event_id}/associate-commit", associate);
runScenarios("event_ids that need percent-encoding", encodedIds);
runScenarios("PATCH and associate-commit: body size limit", sizeLimit, { TELEMETRY_MAX_BODY_BYTES: "2048" });

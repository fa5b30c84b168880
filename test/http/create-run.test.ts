import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { runScenarios, type Scenario } from "../support/scenarios.ts";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";
import { TELEMETRY_RUN_EXAMPLE } from "../../src/schema/examples.ts";
import { expectAbsent, getText, runPath } from "../support/runs.ts";

// POST /api/v1/runs against behaviours.md ("POST /api/v1/runs", "Wire format", "Timestamps",
// "Statuses", "Commit and repo URLs") and the reference's TelemetryRun / RunRecord schemas.

const RUNS = "/api/v1/runs";
const MAX = 2 ** 53 - 1;
const COUNTERS = ["items_discovered", "items_succeeded", "items_failed", "items_skipped", "duration_ms", "api_retry_count"] as const;
const REQUIRED = ["event_id", "run_id", "agent_name", "job_type", "start_time"] as const;
const TIMESTAMP_FIELDS = ["start_time", "end_time", "created_at", "git_commit_timestamp", "api_posted_at"] as const;
const SERVER_NOW = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;
const ALLOWED_STATUSES = "running, success, failure, partial, timeout, cancelled";

type Json = Record<string, unknown>;

/** GET the stored run; fails the test (showing the body) unless it is a 200 object. */
async function getRun(server: TestServer, id: string): Promise<Json> {
  const response = await server.call("GET", runPath(id));
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status: 200 });
  const record = JSON.parse(text) as Json;
  expect(Array.isArray(record)).toBe(false);
  return record;
}



/** A run posted as JSON is created (201 with the contract's body) and GET returns `stored` (partial match). */
function accepted(name: string, overrides: Json, stored: Json, extra: Partial<Scenario> = {}): Scenario {
  const run = makeRun(overrides);
  return acceptedBody(name, run, JSON.stringify(run), stored, extra);
}

/** Same as accepted, but the body is sent as raw JSON text with `rawFields` (e.g. `"duration_ms":3.0`) appended. */
function acceptedRaw(name: string, overrides: Json, rawFields: string, stored: Json): Scenario {
  const run = makeRun(overrides);
  return acceptedBody(name, run, `${JSON.stringify(run).slice(0, -1)},${rawFields}}`, stored);
}

function acceptedBody(name: string, run: Json, body: string, stored: Json, extra: Partial<Scenario> = {}): Scenario {
  const id = run.event_id as string;
  return {
    name,
    method: "POST",
    path: RUNS,
    body,
    status: 201,
    json: { status: "created", event_id: id, run_id: run.run_id },
    after: async (server) => {
      expect(await getRun(server, id)).toMatchObject(stored);
    },
    ...extra,
  };
}

interface Issue {
  loc: (string | number)[];
  type?: string;
  msg?: string;
}

/** A 422 with exactly one issue at `loc` (without the leading "body"), and nothing stored. */
function rejected(name: string, body: Json, issue: Issue, includes: string[] = []): Scenario {
  const expected: Json = { loc: ["body", ...issue.loc] };
  if (issue.type) expected.type = issue.type;
  if (issue.msg) expected.msg = issue.msg;
  return {
    name,
    method: "POST",
    path: RUNS,
    body,
    status: 422,
    json: { detail: [expected] },
    includes,
    after: async (server) => {
      if (typeof body.event_id === "string" && body.event_id !== "") await expectAbsent(server, body.event_id);
    },
  };
}

function rejectedRaw(name: string, overrides: Json, rawFields: string, issue: Issue): Scenario {
  const run = makeRun(overrides);
  const expected: Json = { loc: ["body", ...issue.loc] };
  if (issue.type) expected.type = issue.type;
  return {
    name,
    method: "POST",
    path: RUNS,
    body: `${JSON.stringify(run).slice(0, -1)},${rawFields}}`,
    status: 422,
    json: { detail: [expected] },
    after: (server) => expectAbsent(server, run.event_id as string),
  };
}

function without(field: string): Json {
  const run = makeRun();
  delete run[field];
  return run;
}

/** Raw bytes of a run whose agent_name contains `bad` bytes in the middle. */
function bytesWithAgentName(id: string, bad: number[]): Uint8Array {
  const encoder = new TextEncoder();
  const head = encoder.encode(`{"event_id":"${id}","run_id":"r","agent_name":"agent-`);
  const tail = encoder.encode(`-x","job_type":"j","start_time":"2026-01-05T18:40:27Z"}`);
  return new Uint8Array([...head, ...bad, ...tail]);
}

// The TelemetryRun example from the reference, every field (the same object the API docs show).
const EXAMPLE = TELEMETRY_RUN_EXAMPLE;

// ---------------------------------------------------------------------------------------------------
// Created, duplicate, round trip
// ---------------------------------------------------------------------------------------------------

const basic = makeRun({ status: "running" });
const dupFirst = makeRun({ agent_name: "first-agent", status: "running", items_discovered: 1, metrics_json: { v: 1 } });

const createdAndDuplicates: Scenario[] = [
  {
    name: "new run: 201 with exactly {status:created, event_id, run_id}",
    method: "POST",
    path: RUNS,
    body: basic,
    status: 201,
    json: { status: "created", event_id: basic.event_id, run_id: basic.run_id },
    after: async (server, body) => {
      expect(body).toEqual({ status: "created", event_id: basic.event_id, run_id: basic.run_id });
      const record = await getRun(server, basic.event_id as string);
      expect(record).toMatchObject({
        event_id: basic.event_id,
        run_id: basic.run_id,
        agent_name: "test-agent",
        job_type: "test-job",
        start_time: "2026-01-05T18:40:27Z",
        status: "running",
        items_discovered: 0,
        duration_ms: 0,
        api_posted: false,
        commit_url: null,
        repo_url: null,
      });
      expect(typeof record.id).toBe("number");
    },
  },
  {
    name: "duplicate event_id: 200 duplicate body, stored run left untouched",
    method: "POST",
    path: RUNS,
    setup: async (server) => {
      const first = await server.call("POST", RUNS, dupFirst);
      expect(first.status).toBe(201);
      return { before: await getText(server, runPath(dupFirst.event_id as string)) };
    },
    body: { ...dupFirst, run_id: "other-run", agent_name: "second-agent", status: "failure", items_discovered: 99, metrics_json: { v: 2 } },
    status: 200,
    json: { status: "duplicate", event_id: dupFirst.event_id, message: "Event already exists (idempotent)" },
    after: async (server, body, ctx) => {
      expect(body).toEqual({ status: "duplicate", event_id: dupFirst.event_id, message: "Event already exists (idempotent)" });
      const now = await getText(server, runPath(dupFirst.event_id as string));
      expect(now).toBe(ctx.before!);
      expect(JSON.parse(now)).toMatchObject({ agent_name: "first-agent", run_id: dupFirst.run_id, status: "running", items_discovered: 1, metrics_json: { v: 1 } });
    },
  },
  {
    name: "duplicate of an identical body is also 200 duplicate",
    method: "POST",
    path: RUNS,
    setup: async (server) => {
      expect((await server.call("POST", RUNS, { ...basic, event_id: "dup-identical" })).status).toBe(201);
    },
    body: { ...basic, event_id: "dup-identical" },
    status: 200,
    json: { status: "duplicate", event_id: "dup-identical", message: "Event already exists (idempotent)" },
    after: async (server) => {
      const list = JSON.parse(await getText(server, `${RUNS}?run_id=${encodeURIComponent(basic.run_id as string)}&limit=1000`)) as Json[];
      expect(list.filter((r) => r.event_id === "dup-identical")).toHaveLength(1);
    },
  },
  {
    name: "round trip: the reference's full TelemetryRun example comes back unchanged, with derived URLs",
    method: "POST",
    path: RUNS,
    body: EXAMPLE,
    status: 201,
    json: { status: "created", event_id: EXAMPLE.event_id, run_id: EXAMPLE.run_id },
    after: async (server) => {
      const record = await getRun(server, EXAMPLE.event_id);
      for (const [field, value] of Object.entries(EXAMPLE)) {
        expect({ field, value: record[field] }).toEqual({ field, value });
      }
      expect(record.metrics_json).toEqual({ token_count: 1234 });
      expect(record.context_json).toEqual({ pipeline: "seo-ingest" });
      expect(record.api_posted).toBe(false);
      expect(record.commit_url).toBe("https://github.com/example/repo/commit/abc1234567890");
      expect(record.repo_url).toBe("https://github.com/example/repo");
      expect(typeof record.id).toBe("number");
    },
  },
];

// ---------------------------------------------------------------------------------------------------
// Required fields, types, coercions
// ---------------------------------------------------------------------------------------------------

const requiredAndTypes: Scenario[] = [
  ...REQUIRED.map((field) =>
    rejected(`missing ${field}: 422 missing, "Field required", loc [body, ${field}]`, without(field), { loc: [field], type: "missing", msg: "Field required" }),
  ),
  ...REQUIRED.map((field) =>
    rejected(`${field} null (required): 422 at [body, ${field}]`, makeRun({ [field]: null }), { loc: [field] }),
  ),
  ...REQUIRED.map((field) =>
    rejected(`${field} empty string: 422 string_too_short at [body, ${field}]`, makeRun({ [field]: "" }), { loc: [field], type: "string_too_short" }),
  ),
  {
    name: "empty object: one missing issue per required field",
    method: "POST",
    path: RUNS,
    body: {},
    status: 422,
    json: {
      detail: REQUIRED.map((field) => ({ type: "missing", loc: ["body", field], msg: "Field required" })),
    },
  },
  rejected("items_discovered as a list: int_type", makeRun({ items_discovered: [1] }), { loc: ["items_discovered"], type: "int_type" }),
  rejected("duration_ms as an object: int_type", makeRun({ duration_ms: { ms: 1 } }), { loc: ["duration_ms"], type: "int_type" }),
  rejected("api_retry_count as a list: int_type", makeRun({ api_retry_count: [] }), { loc: ["api_retry_count"], type: "int_type" }),
  rejected("items_failed as a non-numeric string: 422", makeRun({ items_failed: "three" }), { loc: ["items_failed"] }),
  rejected("agent_name as a number: string_type", makeRun({ agent_name: 123 }), { loc: ["agent_name"], type: "string_type" }),
  rejected("run_id as a boolean: string_type", makeRun({ run_id: true }), { loc: ["run_id"], type: "string_type" }),
  rejected("product as a number: string_type", makeRun({ product: 5 }), { loc: ["product"], type: "string_type" }),
  rejected("git_branch as an object: string_type", makeRun({ git_branch: { name: "main" } }), { loc: ["git_branch"], type: "string_type" }),
  rejected("host as a list: string_type", makeRun({ host: ["a"] }), { loc: ["host"], type: "string_type" }),
  rejected("status as a number: string_type", makeRun({ status: 1 }), { loc: ["status"], type: "string_type" }),
  rejected("start_time as a number: string_type", makeRun({ start_time: 1767638427 }), { loc: ["start_time"], type: "string_type" }),
  rejected("api_posted as a list: bool_type", makeRun({ api_posted: [] }), { loc: ["api_posted"], type: "bool_type" }),
  rejected("api_posted as an object: bool_type", makeRun({ api_posted: {} }), { loc: ["api_posted"], type: "bool_type" }),
  rejected("api_posted as an unknown word: 422", makeRun({ api_posted: "maybe" }), { loc: ["api_posted"] }),
  rejected("api_posted as 2: 422", makeRun({ api_posted: 2 }), { loc: ["api_posted"] }),
  ...(["metrics_json", "context_json"] as const).flatMap((field) => [
    rejected(`${field} as an array: dict_type`, makeRun({ [field]: [1, 2] }), { loc: [field], type: "dict_type" }),
    rejected(`${field} as a string: dict_type`, makeRun({ [field]: '{"a":1}' }), { loc: [field], type: "dict_type" }),
    rejected(`${field} as a number: dict_type`, makeRun({ [field]: 42 }), { loc: [field], type: "dict_type" }),
    rejected(`${field} as a boolean: dict_type`, makeRun({ [field]: true }), { loc: [field], type: "dict_type" }),
    accepted(`${field} as an object is stored and returned as an object`, { [field]: { a: 1, nested: { b: [1, "two", null] }, s: "x" } }, {
      [field]: { a: 1, nested: { b: [1, "two", null] }, s: "x" },
    }),
    accepted(`${field} as an empty object is returned as {}`, { [field]: {} }, { [field]: {} }),
    accepted(`${field} null is returned as null`, { [field]: null }, { [field]: null }),
  ]),
  {
    name: "two wrong fields: both reported, each at its own loc",
    method: "POST",
    path: RUNS,
    body: makeRun({ items_skipped: [], product: 7 }),
    status: 422,
    includes: ['"loc":["body","items_skipped"]', '"loc":["body","product"]', '"int_type"', '"string_type"'],
  },
];

// Integer coercions: integral float (raw text, JSON.stringify would drop the ".0") and decimal strings.
const coercions: Scenario[] = [
  acceptedRaw("items_discovered 3.0 (integral float) is stored as 3", {}, '"items_discovered":3.0', { items_discovered: 3 }),
  acceptedRaw("duration_ms 1500.0 is stored as 1500", {}, '"duration_ms":1500.0', { duration_ms: 1500 }),
  acceptedRaw("api_retry_count 2.00 is stored as 2", {}, '"api_retry_count":2.00', { api_retry_count: 2 }),
  accepted('items_succeeded "3" (decimal string) is stored as 3', { items_succeeded: "3" }, { items_succeeded: 3 }),
  accepted('duration_ms "42" is stored as 42', { duration_ms: "42" }, { duration_ms: 42 }),
  accepted('items_skipped "0" is stored as 0', { items_skipped: "0" }, { items_skipped: 0 }),
  rejectedRaw("items_discovered 3.5: int_from_float", {}, '"items_discovered":3.5', { loc: ["items_discovered"], type: "int_from_float" }),
  rejected("duration_ms 0.1: int_from_float", makeRun({ duration_ms: 0.1 }), { loc: ["duration_ms"], type: "int_from_float" }),
  rejected('items_failed "3.5" (fractional string): 422', makeRun({ items_failed: "3.5" }), { loc: ["items_failed"] }),
  ...(
    [
      [true, true],
      [false, false],
      [0, false],
      [1, true],
      ["yes", true],
      ["no", false],
      ["on", true],
      ["off", false],
      ["true", true],
      ["false", false],
      ["1", true],
      ["0", false],
    ] as const
  ).map(([sent, stored]) => accepted(`api_posted ${JSON.stringify(sent)} is stored as ${stored}`, { api_posted: sent }, { api_posted: stored })),
  accepted("api_posted null is the default false", { api_posted: null }, { api_posted: false }),
];

// Counters: 0..2^53-1.
const counters: Scenario[] = [
  ...COUNTERS.flatMap((field) => [
    rejected(`${field} -1: 422 at [body, ${field}]`, makeRun({ [field]: -1 }), { loc: [field] }),
    rejected(`${field} 2^53: 422 at [body, ${field}]`, makeRun({ [field]: 2 ** 53 }), { loc: [field] }),
    rejected(`${field} "-5" (negative string): 422`, makeRun({ [field]: "-5" }), { loc: [field] }),
  ]),
  rejected("items_discovered 1e20: 422", makeRun({ items_discovered: 1e20 }), { loc: ["items_discovered"] }),
  rejected('items_discovered "9007199254740993" (past 2^53 as a string): 422, never rounded', makeRun({ items_discovered: "9007199254740993" }), {
    loc: ["items_discovered"],
  }),
  accepted(
    "every counter at 2^53-1 is accepted and read back exactly",
    Object.fromEntries(COUNTERS.map((c) => [c, MAX])),
    Object.fromEntries(COUNTERS.map((c) => [c, MAX])),
  ),
  accepted('"9007199254740991" as a string is read back exactly', { items_failed: "9007199254740991" }, { items_failed: MAX }),
  accepted("duration_ms null is stored as 0", { duration_ms: null }, { duration_ms: 0 }),
  accepted("every counter 0 is stored as 0", Object.fromEntries(COUNTERS.map((c) => [c, 0])), Object.fromEntries(COUNTERS.map((c) => [c, 0]))),
  (() => {
    const run = makeRun({ items_succeeded: "42" });
    return {
      name: "coerced counters (3.0, \"42\") are INTEGER in the database, never REAL or TEXT",
      method: "POST",
      path: RUNS,
      body: `${JSON.stringify(run).slice(0, -1)},"items_discovered":3.0,"duration_ms":9007199254740991}`,
      status: 201,
      json: { status: "created", event_id: run.event_id },
      after: (server: TestServer) => {
        const db = new Database(server.dbPath, { readonly: true });
        try {
          const row = db
            .query("SELECT typeof(items_discovered) AS a, typeof(items_succeeded) AS b, typeof(duration_ms) AS c, duration_ms AS d FROM agent_runs WHERE event_id = ?")
            .get(run.event_id as string);
          expect(row).toEqual({ a: "integer", b: "integer", c: "integer", d: MAX });
        } finally {
          db.close();
        }
      },
    } satisfies Scenario;
  })(),
  acceptedRaw("2^53-1 written as raw text is read back exactly", {}, '"duration_ms":9007199254740991', { duration_ms: MAX }),
];

// ---------------------------------------------------------------------------------------------------
// Defaults, statuses, commit source
// ---------------------------------------------------------------------------------------------------

const nullCreated = makeRun({ created_at: null });
const omittedCreated = makeRun();

const defaultsAndStatuses: Scenario[] = [
  {
    name: "created_at null is the server's UTC now (6 fraction digits, +00:00)",
    method: "POST",
    path: RUNS,
    body: nullCreated,
    status: 201,
    json: { status: "created", event_id: nullCreated.event_id },
    after: async (server) => {
      const record = await getRun(server, nullCreated.event_id as string);
      expect(record.created_at).toMatch(SERVER_NOW);
    },
  },
  {
    name: "created_at omitted is the server's UTC now (6 fraction digits, +00:00)",
    method: "POST",
    path: RUNS,
    body: omittedCreated,
    status: 201,
    json: { status: "created", event_id: omittedCreated.event_id },
    after: async (server) => {
      const record = await getRun(server, omittedCreated.event_id as string);
      expect(record.created_at).toMatch(SERVER_NOW);
    },
  },
  accepted("status null is running", { status: null }, { status: "running" }),
  accepted("status omitted is running", {}, { status: "running" }),
  ...["running", "success", "failure", "partial", "timeout", "cancelled"].map((s) => accepted(`canonical status ${s} is stored as is`, { status: s }, { status: s })),
  accepted("status alias failed is stored as failure", { status: "failed" }, { status: "failure" }),
  accepted("status alias completed is stored as success", { status: "completed" }, { status: "success" }),
  accepted("status alias succeeded is stored as success", { status: "succeeded" }, { status: "success" }),
  ...["bogus", "done", "", "FAILURE "].map((s) =>
    rejected(`invalid status ${JSON.stringify(s)}: 422 value_error naming the allowed values`, makeRun({ status: s }), { loc: ["status"], type: "value_error" }, [
      ALLOWED_STATUSES,
    ]),
  ),
  ...["manual", "llm", "ci"].map((source) =>
    accepted(
      `git_commit_source ${source} with author and timestamp is stored on POST (better)`,
      { git_commit_source: source, git_commit_author: "Dev <dev@example.com>", git_commit_timestamp: "2026-01-05T18:41:00Z" },
      { git_commit_source: source, git_commit_author: "Dev <dev@example.com>", git_commit_timestamp: "2026-01-05T18:41:00Z" },
    ),
  ),
  ...["human", "LLM", "", "bot"].map((source) =>
    rejected(`git_commit_source ${JSON.stringify(source)}: 422`, makeRun({ git_commit_source: source }), { loc: ["git_commit_source"] }),
  ),
  rejected("git_commit_source as a number: 422", makeRun({ git_commit_source: 1 }), { loc: ["git_commit_source"] }),
  accepted("git_commit_source null is stored as null", { git_commit_source: null }, { git_commit_source: null }),
];

// ---------------------------------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------------------------------

const IMPOSSIBLE = [
  ["Feb 30", "2026-02-30T10:00:00Z"],
  ["Apr 31", "2026-04-31T10:00:00Z"],
  ["Feb 29 2023", "2023-02-29T10:00:00Z"],
  ["hour 24", "2026-01-05T24:00:00Z"],
  ["month 13", "2026-13-05T10:00:00Z"],
  ["minute 60", "2026-01-05T10:60:00Z"],
] as const;

const ACCEPTED_FORMS = [
  ["Z", "2026-01-05T18:40:27Z"],
  ["lower-case z", "2026-01-05T18:40:27z"],
  ["+00:00", "2026-01-05T18:40:27+00:00"],
  ["-08:00", "2026-01-05T10:40:27-08:00"],
  ["+0530", "2026-01-06T00:10:27+0530"],
  ["space separator", "2026-01-05 18:40:27Z"],
  ["lower-case t", "2026-01-05t18:40:27Z"],
  ["1 fraction digit", "2026-01-05T18:40:27.1Z"],
  ["6 fraction digits", "2026-01-05T18:40:27.123456+00:00"],
  ["9 fraction digits", "2026-01-05T18:40:27.123456789+00:00"],
  ["+23:59 on a leap day", "2024-02-29T23:59:59+23:59"],
] as const;

const timestamps: Scenario[] = [
  ...TIMESTAMP_FIELDS.flatMap((field) => [
    rejected(`${field} without a zone: 422`, makeRun({ [field]: "2026-01-05T18:40:27" }), { loc: [field] }),
    rejected(`${field} with fraction but no zone: 422`, makeRun({ [field]: "2026-01-05T18:40:27.123456" }), { loc: [field] }),
    ...IMPOSSIBLE.map(([label, value]) => rejected(`${field} ${label} (${value}): 422, not moved to another day`, makeRun({ [field]: value }), { loc: [field] })),
  ]),
  rejected("start_time garbage text: 422", makeRun({ start_time: "yesterday" }), { loc: ["start_time"] }),
  rejected("start_time bare date: 422", makeRun({ start_time: "2026-01-05" }), { loc: ["start_time"] }),
  rejected("start_time offset +24:00: 422", makeRun({ start_time: "2026-01-05T18:40:27+24:00" }), { loc: ["start_time"] }),
  rejected("start_time 10 fraction digits: 422", makeRun({ start_time: "2026-01-05T18:40:27.1234567890Z" }), { loc: ["start_time"] }),
  ...ACCEPTED_FORMS.map(([label, value]) =>
    accepted(
      `timestamp form ${label} (${value}) is stored exactly as sent in all five fields`,
      Object.fromEntries(TIMESTAMP_FIELDS.map((f) => [f, value])),
      Object.fromEntries(TIMESTAMP_FIELDS.map((f) => [f, value])),
    ),
  ),
];

// ---------------------------------------------------------------------------------------------------
// Unknown fields, special names, Unicode, wire format, credentials
// ---------------------------------------------------------------------------------------------------

const unknownRun = makeRun({ mystery_field: "should-not-appear", nested_unknown: { a: 1 }, id: 987654321, updated_at: "bogus-updated", created_at_us: 0, schema_version: 99 });
const surrogateId = makeRun().event_id as string;
const surrogateProductId = makeRun().event_id as string;
const pairId = makeRun().event_id as string;
const badUtf8Ids = [makeRun().event_id, makeRun().event_id, makeRun().event_id] as string[];
const plainRun = makeRun();
const formRun = makeRun();
const credRun = makeRun({ git_repo: "https://user:s3cretTok@github.com/o/r", git_commit_hash: "abcdef1234567" });
const tokenOnlyRun = makeRun({ git_repo: "https://ghp_TOKENonly999@gitlab.com/group/sub/proj.git", git_commit_hash: "1234567abc" });
const brokenJsonId = makeRun().event_id as string;

const wire: Scenario[] = [
  {
    name: "unknown fields (even column names like id/updated_at) are ignored: 201, not in the record",
    method: "POST",
    path: RUNS,
    body: unknownRun,
    status: 201,
    json: { status: "created", event_id: unknownRun.event_id },
    after: async (server) => {
      const text = await getText(server, runPath(unknownRun.event_id as string));
      expect(text).not.toContain("mystery_field");
      expect(text).not.toContain("should-not-appear");
      expect(text).not.toContain("nested_unknown");
      expect(text).not.toContain("bogus-updated");
      expect(text).not.toContain("created_at_us");
      const record = JSON.parse(text) as Json;
      expect(record.id).not.toBe(987654321);
      expect(record.agent_name).toBe("test-agent");
    },
  },
  {
    name: 'lone high surrogate "\\ud800" in agent_name: 422 at [body, agent_name], nothing stored',
    method: "POST",
    path: RUNS,
    body: `{"event_id":"${surrogateId}","run_id":"r","agent_name":"bad\\ud800x","job_type":"j","start_time":"2026-01-05T18:40:27Z"}`,
    status: 422,
    json: { detail: [{ loc: ["body", "agent_name"] }] },
    after: (server) => expectAbsent(server, surrogateId),
  },
  {
    name: 'lone low surrogate "\\udc00" in product: 422 at [body, product]',
    method: "POST",
    path: RUNS,
    body: `{"event_id":"${surrogateProductId}","run_id":"r","agent_name":"a","job_type":"j","start_time":"2026-01-05T18:40:27Z","product":"\\udc00"}`,
    status: 422,
    json: { detail: [{ loc: ["body", "product"] }] },
    after: (server) => expectAbsent(server, surrogateProductId),
  },
  {
    name: "a valid surrogate pair escape is accepted and stored as the character",
    method: "POST",
    path: RUNS,
    body: `{"event_id":"${pairId}","run_id":"r","agent_name":"rocket-\\ud83d\\ude80","job_type":"j","start_time":"2026-01-05T18:40:27Z"}`,
    status: 201,
    json: { status: "created", event_id: pairId },
    after: async (server) => {
      expect(await getRun(server, pairId)).toMatchObject({ agent_name: "rocket-\u{1F680}" });
    },
  },
  ...(
    [
      ["0xFF byte", [0xff]],
      ["overlong encoding C0 AF", [0xc0, 0xaf]],
      ["truncated 3-byte sequence", [0xe2, 0x82]],
    ] as const
  ).map(
    ([label, bytes], i): Scenario => ({
      name: `invalid UTF-8 (${label}) in the body: 422 json_invalid, nothing stored`,
      method: "POST",
      path: RUNS,
      body: bytesWithAgentName(badUtf8Ids[i]!, [...bytes]),
      status: 422,
      json: { detail: [{ type: "json_invalid", msg: "JSON decode error" }] },
      excludes: ["\uFFFD"],
      after: (server) => expectAbsent(server, badUtf8Ids[i]!),
    }),
  ),
  {
    name: "non-JSON body: 422 json_invalid at [body, 0], JSON decode error",
    method: "POST",
    path: RUNS,
    body: "not json",
    status: 422,
    json: { detail: [{ type: "json_invalid", loc: ["body", 0], msg: "JSON decode error" }] },
  },
  {
    name: "trailing comma: 422 json_invalid at the character offset of the error",
    method: "POST",
    path: RUNS,
    body: `{"event_id": "x",}`,
    status: 422,
    json: { detail: [{ type: "json_invalid", loc: ["body", 17], msg: "JSON decode error" }] },
  },
  {
    name: "truncated JSON object: 422 json_invalid, nothing stored",
    method: "POST",
    path: RUNS,
    body: `{"event_id":"${brokenJsonId}","run_id":"r"`,
    status: 422,
    json: { detail: [{ type: "json_invalid", msg: "JSON decode error" }] },
    after: (server) => expectAbsent(server, brokenJsonId),
  },
  {
    name: "empty body: 422 in the FastAPI shape",
    method: "POST",
    path: RUNS,
    body: "",
    status: 422,
    includes: ['"detail":[', '"loc":["body"'],
  },
  {
    name: "JSON array instead of an object: 422 at [body]",
    method: "POST",
    path: RUNS,
    body: [makeRun()],
    status: 422,
    json: { detail: [{ loc: ["body"] }] },
  },
  {
    name: "JSON null body: 422",
    method: "POST",
    path: RUNS,
    body: "null",
    status: 422,
    includes: ['"loc":["body"'],
  },
  {
    name: "body sent as text/plain is still parsed as JSON: 201",
    method: "POST",
    path: RUNS,
    body: JSON.stringify(plainRun),
    headers: { "content-type": "text/plain" },
    status: 201,
    json: { status: "created", event_id: plainRun.event_id },
    after: async (server) => {
      expect(await getRun(server, plainRun.event_id as string)).toMatchObject({ agent_name: "test-agent" });
    },
  },
  {
    name: "body sent as form-urlencoded is still parsed as JSON: 201",
    method: "POST",
    path: RUNS,
    body: JSON.stringify(formRun),
    headers: { "content-type": "application/x-www-form-urlencoded" },
    status: 201,
    json: { status: "created", event_id: formRun.event_id },
  },
  {
    name: "credentials in git_repo never appear in GET, commit-url, repo-url or the list",
    method: "POST",
    path: RUNS,
    body: credRun,
    status: 201,
    excludes: ["s3cretTok"],
    after: async (server) => {
      const id = credRun.event_id as string;
      const record = await getText(server, runPath(id));
      expect(record).not.toContain("s3cretTok");
      expect(record).not.toContain("user:");
      expect(JSON.parse(record)).toMatchObject({
        git_repo: "https://github.com/o/r",
        commit_url: "https://github.com/o/r/commit/abcdef1234567",
        repo_url: "https://github.com/o/r",
      });
      const commit = await getText(server, `${runPath(id)}/commit-url`);
      expect(JSON.parse(commit)).toEqual({ commit_url: "https://github.com/o/r/commit/abcdef1234567" });
      const repo = await getText(server, `${runPath(id)}/repo-url`);
      expect(JSON.parse(repo)).toEqual({ repo_url: "https://github.com/o/r" });
      const list = await getText(server, `${RUNS}?run_id=${encodeURIComponent(credRun.run_id as string)}`);
      expect(list).not.toContain("s3cretTok");
      expect(list).toContain(id);
    },
  },
  {
    name: "a token-only userinfo in git_repo is removed too (gitlab nested groups)",
    method: "POST",
    path: RUNS,
    body: tokenOnlyRun,
    status: 201,
    after: async (server) => {
      const id = tokenOnlyRun.event_id as string;
      const record = await getText(server, runPath(id));
      expect(record).not.toContain("ghp_TOKENonly999");
      expect(JSON.parse(record)).toMatchObject({
        git_repo: "https://gitlab.com/group/sub/proj.git",
        commit_url: "https://gitlab.com/group/sub/proj/-/commit/1234567abc",
        repo_url: "https://gitlab.com/group/sub/proj",
      });
      const commit = await getText(server, `${runPath(id)}/commit-url`);
      expect(commit).not.toContain("ghp_TOKENonly999");
      expect(JSON.parse(commit)).toEqual({ commit_url: "https://gitlab.com/group/sub/proj/-/commit/1234567abc" });
      const repo = await getText(server, `${runPath(id)}/repo-url`);
      expect(JSON.parse(repo)).toEqual({ repo_url: "https://gitlab.com/group/sub/proj" });
    },
  },
];

// Names that are special object keys in JavaScript. This table runs on its own server and its
// scenarios build on each other in order: three runs are created, then counted.
const protoA = makeRun({ agent_name: "__proto__", job_type: "constructor", metrics_json: JSON.parse('{"__proto__":{"polluted":true},"constructor":1,"toString":"x"}') });
const protoB = makeRun({ agent_name: "__proto__", job_type: "__proto__", context_json: JSON.parse('{"constructor":{"prototype":2},"hasOwnProperty":false}') });
const ctor = makeRun({ agent_name: "constructor", job_type: "toString" });

const specialNames: Scenario[] = [
  {
    name: "agent __proto__ with __proto__/constructor keys in metrics_json: 201 and GET returns them as data",
    method: "POST",
    path: RUNS,
    body: protoA,
    status: 201,
    json: { status: "created", event_id: protoA.event_id },
    after: async (server) => {
      const text = await getText(server, runPath(protoA.event_id as string));
      expect(text).toContain('"agent_name":"__proto__"');
      expect(text).toContain('"job_type":"constructor"');
      expect(text).toContain('"metrics_json":{"__proto__":{"polluted":true},"constructor":1,"toString":"x"}');
      expect(({} as Json).polluted).toBeUndefined();
    },
  },
  {
    name: "second __proto__ agent with constructor keys in context_json: 201 and GET returns them",
    method: "POST",
    path: RUNS,
    body: protoB,
    status: 201,
    after: async (server) => {
      const text = await getText(server, runPath(protoB.event_id as string));
      expect(text).toContain('"agent_name":"__proto__"');
      expect(text).toContain('"context_json":{"constructor":{"prototype":2},"hasOwnProperty":false}');
    },
  },
  {
    name: "agent named constructor: 201 and GET returns it",
    method: "POST",
    path: RUNS,
    body: ctor,
    status: 201,
    after: async (server) => {
      expect(await getRun(server, ctor.event_id as string)).toMatchObject({ agent_name: "constructor", job_type: "toString" });
    },
  },
  {
    name: "/metrics counts __proto__ and constructor agents like any other name",
    method: "GET",
    path: "/metrics",
    status: 200,
    json: { total_runs: 3 },
    includes: ['"agents":{"__proto__":2,"constructor":1}'],
  },
  {
    name: "/api/v1/metadata lists __proto__ and constructor in code-point order, with counts",
    method: "GET",
    path: "/api/v1/metadata",
    status: 200,
    json: { agent_names: ["__proto__", "constructor"], job_types: ["__proto__", "constructor", "toString"], counts: { agent_names: 2, job_types: 3 } },
  },
  {
    name: "agent_name=__proto__ filter finds exactly the two runs",
    method: "GET",
    path: `${RUNS}?agent_name=__proto__`,
    status: 200,
    after: (_server, body) => {
      const ids = (body as Json[]).map((r) => r.event_id).sort();
      expect(ids).toEqual([protoA.event_id, protoB.event_id].sort());
    },
  },
];

// Size limit, on its own server with a small TELEMETRY_MAX_BODY_BYTES.
const bigRun = makeRun({ input_summary: "x".repeat(3000) });
const fitsRun = makeRun({ input_summary: "y".repeat(1500) });
const sizeLimit: Scenario[] = [
  {
    name: "body over TELEMETRY_MAX_BODY_BYTES (2048): 413 with a JSON detail, nothing stored",
    method: "POST",
    path: RUNS,
    body: bigRun,
    status: 413,
    json: { detail: expect.any(String) },
    after: (server) => expectAbsent(server, bigRun.event_id as string),
  },
  {
    name: "body under TELEMETRY_MAX_BODY_BYTES (2048): 201",
    method: "POST",
    path: RUNS,
    body: fitsRun,
    status: 201,
    json: { status: "created", event_id: fitsRun.event_id },
    after: async (server) => {
      expect(await getRun(server, fitsRun.event_id as string)).toMatchObject({ input_summary: "y".repeat(1500) });
    },
  },
  {
    name: "an over-limit body that is not even JSON is still 413 (size is checked before parsing)",
    method: "POST",
    path: RUNS,
    body: "z".repeat(5000),
    status: 413,
    json: { detail: expect.any(String) },
  },
];

runScenarios("POST /api/v1/runs: created, duplicate, round trip", createdAndDuplicates);
runScenarios("POST /api/v1/runs: required fields and types", requiredAndTypes);
runScenarios("POST /api/v1/runs: lenient coercions", coercions);
runScenarios("POST /api/v1/runs: counters", counters);
runScenarios("POST /api/v1/runs: defaults, statuses, commit source", defaultsAndStatuses);
runScenarios("POST /api/v1/runs: timestamps", timestamps);
runScenarios("POST /api/v1/runs: wire format, Unicode, credentials", wire);
runScenarios("POST /api/v1/runs: __proto__ and constructor are plain names", specialNames);
runScenarios("POST /api/v1/runs: body size limit", sizeLimit, { TELEMETRY_MAX_BODY_BYTES: "2048" });

/** A fetch body streamed in chunks, so no Content-Length is sent (Transfer-Encoding: chunked). */
function streamed(text: string, chunkSize: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

async function postStreamed(server: TestServer, text: string): Promise<Response> {
  const init = { method: "POST", body: streamed(text, 512), headers: { "content-type": "application/json" }, duplex: "half" } as RequestInit;
  return fetch(server.base + RUNS, init);
}

test("chunked body (no Content-Length) over TELEMETRY_MAX_BODY_BYTES: 413 JSON detail, nothing stored; under the limit: 201", async () => {
  const server = await startTestServer({ TELEMETRY_MAX_BODY_BYTES: "2048" });
  try {
    const big = makeRun({ input_summary: "c".repeat(6000) });
    const response = await postStreamed(server, JSON.stringify(big));
    const text = await response.text();
    expect({ status: response.status, text }).toMatchObject({ status: 413 });
    expect(JSON.parse(text)).toEqual({ detail: expect.any(String) });
    await expectAbsent(server, big.event_id as string);

    const small = makeRun({ input_summary: "s".repeat(1000) });
    const ok = await postStreamed(server, JSON.stringify(small));
    expect(await ok.json()).toEqual({ status: "created", event_id: small.event_id, run_id: small.run_id });
    expect(ok.status).toBe(201);
    expect(await getRun(server, small.event_id as string)).toMatchObject({ input_summary: "s".repeat(1000) });
  } finally {
    await server.close();
  }
});

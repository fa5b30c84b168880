import { expect } from "bun:test";
import { runScenarios, type Scenario } from "../support/scenarios.ts";
import { makeRun, type TestServer } from "../support/server.ts";
import { expectAbsent, getText, runPath } from "../support/runs.ts";

// POST /api/v1/runs/batch against behaviours.md ("POST /api/v1/runs/batch", "Wire format") and the
// reference's BatchResponse and batch example.

const RUNS = "/api/v1/runs";
const BATCH = `${RUNS}/batch`;

type Json = Record<string, unknown>;

async function getRun(server: TestServer, id: string): Promise<Json> {
  const response = await server.call("GET", runPath(id));
  const text = await response.text();
  expect({ id, status: response.status, text }).toMatchObject({ status: 200 });
  return JSON.parse(text) as Json;
}



const ids = (runs: Json[]) => runs.map((r) => r.event_id as string);

/** A batch whose item `index` is invalid: 422 with exactly one issue at [body, index, ...loc], and no sibling stored. */
function rejectedItem(name: string, items: Json[], issue: { loc: (string | number)[]; type?: string }): Scenario {
  const expected: Json = { loc: ["body", ...issue.loc] };
  if (issue.type) expected.type = issue.type;
  return {
    name,
    method: "POST",
    path: BATCH,
    body: items,
    status: 422,
    json: { detail: [expected] },
    after: async (server) => {
      for (const item of items) if (typeof item?.event_id === "string" && item.event_id !== "") await expectAbsent(server, item.event_id);
    },
  };
}

// ---------------------------------------------------------------------------------------------------

const EXAMPLE = [
  { event_id: "11111111-1111-1111-1111-111111111111", run_id: "run-1", agent_name: "agent-a", job_type: "job-a", start_time: "2026-01-05T18:40:27Z" },
  { event_id: "22222222-2222-2222-2222-222222222222", run_id: "run-2", agent_name: "agent-b", job_type: "job-b", start_time: "2026-01-05T18:41:00Z" },
];

const inBatchFirst = makeRun({ agent_name: "first-copy", items_discovered: 1 });
const inBatchOther = makeRun();
const stored = makeRun({ agent_name: "stored-before", status: "success" });
const storedNew = makeRun();
const aliasRuns = [makeRun({ status: "failed" }), makeRun({ status: "completed" }), makeRun({ status: "succeeded" }), makeRun({ status: "timeout" }), makeRun({ status: null })];
const credRun = makeRun({ git_repo: "https://bob:batchSecret42@bitbucket.org/team/repo", git_commit_hash: "deadbeef1" });
const rich = makeRun({
  duration_ms: null,
  items_succeeded: "4",
  api_posted: "yes",
  metrics_json: { tokens: 10 },
  context_json: { stage: "x" },
  git_commit_source: "ci",
  start_time: "2026-01-05T10:40:27.123456789-08:00",
});

const batches: Scenario[] = [
  {
    name: "the reference example: 200 {inserted:2, duplicates:0, errors:[], total:2}, both stored",
    method: "POST",
    path: BATCH,
    body: EXAMPLE,
    status: 200,
    json: { inserted: 2, duplicates: 0, errors: [], total: 2 },
    after: async (server, body) => {
      expect(body).toEqual({ inserted: 2, duplicates: 0, errors: [], total: 2 });
      for (const run of EXAMPLE) expect(await getRun(server, run.event_id)).toMatchObject({ ...run, status: "running" });
    },
  },
  {
    name: "the same example again: all duplicates",
    method: "POST",
    path: BATCH,
    body: EXAMPLE,
    status: 200,
    json: { inserted: 0, duplicates: 2, errors: [], total: 2 },
  },
  {
    name: "[]: all zeros",
    method: "POST",
    path: BATCH,
    body: [],
    status: 200,
    json: { inserted: 0, duplicates: 0, errors: [], total: 0 },
    after: (_server, body) => {
      expect(body).toEqual({ inserted: 0, duplicates: 0, errors: [], total: 0 });
    },
  },
  {
    name: "a duplicate inside the same batch counts as a duplicate; the first copy is stored",
    method: "POST",
    path: BATCH,
    body: [inBatchFirst, inBatchOther, { ...inBatchFirst, agent_name: "second-copy", items_discovered: 2, run_id: "other" }],
    status: 200,
    json: { inserted: 2, duplicates: 1, errors: [], total: 3 },
    after: async (server) => {
      expect(await getRun(server, inBatchFirst.event_id as string)).toMatchObject({ agent_name: "first-copy", items_discovered: 1, run_id: inBatchFirst.run_id });
      expect(await getRun(server, inBatchOther.event_id as string)).toMatchObject({ agent_name: "test-agent" });
    },
  },
  {
    name: "duplicate of an already-stored run: counted as duplicate, stored run untouched",
    method: "POST",
    path: BATCH,
    setup: async (server) => {
      expect((await server.call("POST", RUNS, stored)).status).toBe(201);
      return { before: await getText(server, runPath(stored.event_id as string)) };
    },
    body: [{ ...stored, agent_name: "overwritten?", status: "failure" }, storedNew],
    status: 200,
    json: { inserted: 1, duplicates: 1, errors: [], total: 2 },
    after: async (server, _body, ctx) => {
      expect(await getText(server, runPath(stored.event_id as string))).toBe(ctx.before!);
      expect(await getRun(server, stored.event_id as string)).toMatchObject({ agent_name: "stored-before", status: "success" });
      expect(await getRun(server, storedNew.event_id as string)).toMatchObject({ event_id: storedNew.event_id });
    },
  },
  {
    name: "status aliases are normalised; null status is running",
    method: "POST",
    path: BATCH,
    body: aliasRuns,
    status: 200,
    json: { inserted: 5, duplicates: 0, errors: [], total: 5 },
    after: async (server) => {
      const statuses = [];
      for (const id of ids(aliasRuns)) statuses.push((await getRun(server, id)).status);
      expect(statuses).toEqual(["failure", "success", "success", "timeout", "running"]);
    },
  },
  {
    name: "items get the same coercions and defaults as a single POST",
    method: "POST",
    path: BATCH,
    body: [rich],
    status: 200,
    json: { inserted: 1, duplicates: 0, errors: [], total: 1 },
    after: async (server) => {
      expect(await getRun(server, rich.event_id as string)).toMatchObject({
        duration_ms: 0,
        items_succeeded: 4,
        api_posted: true,
        metrics_json: { tokens: 10 },
        context_json: { stage: "x" },
        git_commit_source: "ci",
        start_time: "2026-01-05T10:40:27.123456789-08:00",
      });
    },
  },
  {
    name: "credentials in a batch item's git_repo are never stored or returned",
    method: "POST",
    path: BATCH,
    body: [credRun],
    status: 200,
    json: { inserted: 1, duplicates: 0, errors: [], total: 1 },
    after: async (server) => {
      const text = await getText(server, runPath(credRun.event_id as string));
      expect(text).not.toContain("batchSecret42");
      expect(JSON.parse(text)).toMatchObject({
        git_repo: "https://bitbucket.org/team/repo",
        repo_url: "https://bitbucket.org/team/repo",
        commit_url: "https://bitbucket.org/team/repo/commits/deadbeef1",
      });
    },
  },
];

// ---------------------------------------------------------------------------------------------------

const missingStart = makeRun();
delete missingStart.start_time;

const invalid: Scenario[] = [
  rejectedItem("item 1 misses start_time: 422 missing at [body, 1, start_time], valid sibling not stored", [makeRun(), missingStart], {
    loc: [1, "start_time"],
    type: "missing",
  }),
  rejectedItem(
    "item 3 has a zone-less start_time: 422 at [body, 3, start_time], nothing stored",
    [makeRun(), makeRun(), makeRun(), makeRun({ start_time: "2026-01-05T18:40:27" }), makeRun()],
    { loc: [3, "start_time"] },
  ),
  rejectedItem("item 0 has a list as a counter: 422 int_type at [body, 0, items_failed]", [makeRun({ items_failed: [] }), makeRun()], { loc: [0, "items_failed"], type: "int_type" }),
  rejectedItem("item 1 has a bad status: 422 value_error at [body, 1, status]", [makeRun(), makeRun({ status: "bogus" })], { loc: [1, "status"], type: "value_error" }),
  rejectedItem("item 1 has metrics_json as an array: 422 dict_type", [makeRun(), makeRun({ metrics_json: [] })], { loc: [1, "metrics_json"], type: "dict_type" }),
  rejectedItem("item 1 has a negative counter: 422 at [body, 1, duration_ms]", [makeRun(), makeRun({ duration_ms: -1 })], { loc: [1, "duration_ms"] }),
  rejectedItem("item 1 has an impossible date: 422 at [body, 1, end_time]", [makeRun(), makeRun({ end_time: "2026-02-30T10:00:00Z" })], { loc: [1, "end_time"] }),
  rejectedItem("item 1 has an invalid git_commit_source: 422", [makeRun(), makeRun({ git_commit_source: "robot" })], { loc: [1, "git_commit_source"] }),
  rejectedItem("item 1 has an empty agent_name: 422 string_too_short", [makeRun(), makeRun({ agent_name: "" })], { loc: [1, "agent_name"], type: "string_too_short" }),
  rejectedItem("item 1 is a string, not an object: 422 at [body, 1]", [makeRun(), "not-a-run" as unknown as Json], { loc: [1] }),
  rejectedItem("item 0 is null: 422 at [body, 0]", [null as unknown as Json, makeRun()], { loc: [0] }),
  (() => {
    const items = [makeRun({ items_discovered: -1 }), makeRun(), makeRun({ agent_name: 5 })];
    return {
      name: "two invalid items: both reported with their index, nothing stored",
      method: "POST",
      path: BATCH,
      body: items,
      status: 422,
      json: { detail: [{ loc: ["body", 0, "items_discovered"] }, { loc: ["body", 2, "agent_name"], type: "string_type" }] },
      after: async (server: TestServer) => {
        for (const id of ids(items)) await expectAbsent(server, id);
      },
    } satisfies Scenario;
  })(),
  (() => {
    const ok = makeRun();
    const id = makeRun().event_id as string;
    return {
      name: "lone surrogate in an item: 422 at [body, 1, agent_name], sibling not stored",
      method: "POST",
      path: BATCH,
      body: `[${JSON.stringify(ok)},{"event_id":"${id}","run_id":"r","agent_name":"\\ud800","job_type":"j","start_time":"2026-01-05T18:40:27Z"}]`,
      status: 422,
      json: { detail: [{ loc: ["body", 1, "agent_name"] }] },
      after: async (server: TestServer) => {
        await expectAbsent(server, ok.event_id as string);
        await expectAbsent(server, id);
      },
    } satisfies Scenario;
  })(),
  (() => {
    const run = makeRun();
    return {
      name: "an object instead of an array: 422 list_type at [body], not stored",
      method: "POST",
      path: BATCH,
      body: run,
      status: 422,
      json: { detail: [{ type: "list_type", loc: ["body"] }] },
      after: (server: TestServer) => expectAbsent(server, run.event_id as string),
    } satisfies Scenario;
  })(),
  {
    name: "a wrapper object {runs:[...]}: 422 at [body]",
    method: "POST",
    path: BATCH,
    body: { runs: [makeRun()] },
    status: 422,
    json: { detail: [{ type: "list_type", loc: ["body"] }] },
  },
  {
    name: "a JSON string instead of an array: 422 at [body]",
    method: "POST",
    path: BATCH,
    body: '"runs"',
    status: 422,
    json: { detail: [{ type: "list_type", loc: ["body"] }] },
  },
  {
    name: "non-JSON body: 422 json_invalid with offset",
    method: "POST",
    path: BATCH,
    body: "[1,]",
    status: 422,
    json: { detail: [{ type: "json_invalid", loc: ["body", 3], msg: "JSON decode error" }] },
  },
  {
    name: "empty body: 422",
    method: "POST",
    path: BATCH,
    body: "",
    status: 422,
    includes: ['"loc":["body"'],
  },
  {
    name: "batch sent as text/plain is still parsed as JSON",
    method: "POST",
    path: BATCH,
    body: JSON.stringify([makeRun()]),
    headers: { "content-type": "text/plain" },
    status: 200,
    json: { inserted: 1, duplicates: 0, errors: [], total: 1 },
  },
];

// ---------------------------------------------------------------------------------------------------
// Limits, on a server with TELEMETRY_MAX_BATCH_ITEMS=5, TELEMETRY_MAX_BATCH_BYTES=4096 and a
// single-run limit (TELEMETRY_MAX_BODY_BYTES=2048) smaller than the batch limit.

const sixRuns = Array.from({ length: 6 }, () => makeRun());
const fiveRuns = Array.from({ length: 5 }, () => makeRun());
const heavyRuns = Array.from({ length: 3 }, () => makeRun({ input_summary: "h".repeat(2000) }));
const mediumRuns = [makeRun({ input_summary: "m".repeat(2500) })];

const limits: Scenario[] = [
  {
    name: "6 items over TELEMETRY_MAX_BATCH_ITEMS=5: 413 JSON detail, nothing stored",
    method: "POST",
    path: BATCH,
    body: sixRuns,
    status: 413,
    json: { detail: expect.any(String) },
    after: async (server) => {
      for (const id of ids(sixRuns)) await expectAbsent(server, id);
    },
  },
  {
    name: "5 items at TELEMETRY_MAX_BATCH_ITEMS=5: 200, all stored",
    method: "POST",
    path: BATCH,
    body: fiveRuns,
    status: 200,
    json: { inserted: 5, duplicates: 0, errors: [], total: 5 },
    after: async (server) => {
      for (const id of ids(fiveRuns)) await getRun(server, id);
    },
  },
  {
    name: "body over TELEMETRY_MAX_BATCH_BYTES=4096: 413 JSON detail, nothing stored",
    method: "POST",
    path: BATCH,
    body: heavyRuns,
    status: 413,
    json: { detail: expect.any(String) },
    after: async (server) => {
      for (const id of ids(heavyRuns)) await expectAbsent(server, id);
    },
  },
  {
    name: "a batch over the single-run limit but under the batch limit is accepted (batch limit applies)",
    method: "POST",
    path: BATCH,
    body: mediumRuns,
    status: 200,
    json: { inserted: 1, duplicates: 0, errors: [], total: 1 },
    after: async (server) => {
      expect(await getRun(server, mediumRuns[0]!.event_id as string)).toMatchObject({ input_summary: "m".repeat(2500) });
    },
  },
  {
    name: "over-limit non-JSON batch body is 413 (size before parsing)",
    method: "POST",
    path: BATCH,
    body: "[" + "x".repeat(6000),
    status: 413,
    json: { detail: expect.any(String) },
  },
];

runScenarios("POST /api/v1/runs/batch: outcomes", batches);
runScenarios("POST /api/v1/runs/batch: invalid bodies", invalid);
runScenarios("POST /api/v1/runs/batch: limits", limits, {
  TELEMETRY_MAX_BATCH_ITEMS: "5",
  TELEMETRY_MAX_BATCH_BYTES: "4096",
  TELEMETRY_MAX_BODY_BYTES: "2048",
});

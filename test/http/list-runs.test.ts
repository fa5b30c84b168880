import { expect } from "bun:test";
import { runScenarios, type Scenario } from "../support/scenarios.ts";
import { makeRun, type TestServer } from "../support/server.ts";

// GET /api/v1/runs: order, pagination, limit/offset validation, every filter, instant comparison.

const RUNS = "/api/v1/runs";

let tagCounter = 0;
/** A value no other scenario uses, so filters isolate each scenario's runs on the shared server. */
const tag = (prefix: string) => `${prefix}-${++tagCounter}-${crypto.randomUUID().slice(0, 8)}`;

/** Creates the runs through the batch endpoint (one request), asserting they were all inserted. */
async function createRuns(server: TestServer, runs: Record<string, unknown>[]): Promise<string[]> {
  const response = await server.call("POST", `${RUNS}/batch`, runs);
  const body = await response.json();
  expect({ status: response.status, body }).toMatchObject({ status: 200, body: { inserted: runs.length, duplicates: 0 } });
  return runs.map((r) => r.event_id as string);
}

async function list(server: TestServer, query: string): Promise<Record<string, unknown>[]> {
  const response = await server.call("GET", `${RUNS}?${query}`);
  const body = await response.json();
  expect({ status: response.status, isArray: Array.isArray(body) }).toEqual({ status: 200, isArray: true });
  return body as Record<string, unknown>[];
}

const ids = (body: unknown) => (body as { event_id: string }[]).map((r) => r.event_id);
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

/** A run at `at` (used as both created_at and start_time) for agent `agent`. */
const runAt = (agent: string, at: string, extra: Record<string, unknown> = {}) =>
  makeRun({ agent_name: agent, created_at: at, start_time: at, ...extra });

// ---------------------------------------------------------------------------------------------
// Order and pagination
// ---------------------------------------------------------------------------------------------

/** 105 runs of one agent, created_at one second apart, inserted oldest first. */
async function hundredAndFive(server: TestServer) {
  const agent = tag("many");
  const runs = Array.from({ length: 105 }, (_, i) =>
    runAt(agent, `2026-01-10T00:${String(Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}Z`, { run_id: `many-${i}` }),
  );
  const eventIds = await createRuns(server, runs);
  return { agent, first: eventIds[0]!, fifth: eventIds[5]!, last: eventIds[104]! };
}

/**
 * Seven runs whose created_at values include ties, inserted out of order. Expected order: newest
 * instant first, ties by insertion order newest first.
 */
async function sevenWithTies(server: TestServer) {
  const agent = tag("pages");
  const t1 = "2026-01-11T01:00:00Z";
  const t2 = "2026-01-11T02:00:00Z";
  const t3 = "2026-01-11T03:00:00Z";
  const t4 = "2026-01-11T04:00:00Z";
  // insertion order: p0..p6
  const createdAt = [t3, t2, t4, t2, t1, t3, t2];
  const eventIds = await createRuns(server, createdAt.map((at, i) => runAt(agent, at, { run_id: `p${i}` })));
  // t4: p2 | t3: p5, p0 | t2: p6, p3, p1 | t1: p4
  const expected = [2, 5, 0, 6, 3, 1, 4].map((i) => eventIds[i]!);
  return { agent, expected: expected.join(",") };
}

const ordering: Scenario[] = [
  {
    name: "the response is an array, also when nothing matches",
    method: "GET",
    path: `${RUNS}?agent_name=${tag("nobody")}`,
    status: 200,
    json: [],
    after: (_s, body) => expect(body).toEqual([]),
  },
  {
    name: "default limit is 100 (of 105 matching runs, the newest 100 are returned)",
    method: "GET",
    setup: hundredAndFive,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}`,
    status: 200,
    after: (_s, body, ctx) => {
      const got = ids(body);
      expect(got.length).toBe(100);
      expect(got[0]).toBe(ctx.last!);
      expect(got[99]).toBe(ctx.fifth!);
      expect(got).not.toContain(ctx.first!);
    },
  },
  {
    name: "newest created_at first, ties broken by insertion order newest first",
    method: "GET",
    setup: sevenWithTies,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}`,
    status: 200,
    after: (_s, body, ctx) => expect(ids(body)).toEqual(ctx.expected!.split(",")),
  },
  {
    name: "runs with identical created_at come back newest insertion first",
    method: "GET",
    setup: async (server) => {
      const agent = tag("ties");
      const [a, b, c] = await createRuns(server, [1, 2, 3].map(() => runAt(agent, "2026-01-12T12:00:00Z")));
      return { agent, a: a!, b: b!, c: c! };
    },
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}`,
    status: 200,
    after: (_s, body, ctx) => expect(ids(body)).toEqual([ctx.c!, ctx.b!, ctx.a!]),
  },
  {
    name: "runs created without created_at (server now) list newest insertion first",
    method: "GET",
    setup: async (server) => {
      const agent = tag("now");
      const made: string[] = [];
      // one request each, so each gets a later server "now"
      for (let i = 0; i < 5; i++) {
        const run = makeRun({ agent_name: agent });
        const response = await server.call("POST", RUNS, run);
        expect(response.status).toBe(201);
        made.push(run.event_id as string);
      }
      // and many in single batches: every later item must not get an earlier server "now"
      for (let b = 0; b < 3; b++) made.push(...(await createRuns(server, Array.from({ length: 300 }, () => makeRun({ agent_name: agent })))));
      return { agent, order: made.reverse().join(",") };
    },
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&limit=1000`,
    status: 200,
    after: (_s, body, ctx) => {
      const records = body as { event_id: string; created_at: string }[];
      const expected = ctx.order!.split(",");
      expect(records.length).toBe(expected.length);
      // in insertion order, the server-assigned created_at never goes backwards (all are in the same
      // server format, so text order is instant order here)
      const createdAt = new Map(records.map((r) => [r.event_id, r.created_at]));
      const inserted = [...expected].reverse().map((id) => createdAt.get(id)!);
      const backwards = inserted.flatMap((at, i) => (i > 0 && at < inserted[i - 1]! ? [`${inserted[i - 1]} then ${at}`] : []));
      expect(backwards).toEqual([]);
      expect(ids(body)).toEqual(expected);
    },
  },
  {
    name: "pages of 3 via limit/offset never overlap or skip (with ties)",
    method: "GET",
    setup: sevenWithTies,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&limit=3&offset=0`,
    status: 200,
    after: async (server, body, ctx) => {
      const page2 = ids(await list(server, `agent_name=${ctx.agent}&limit=3&offset=3`));
      const page3 = ids(await list(server, `agent_name=${ctx.agent}&limit=3&offset=6`));
      const page4 = ids(await list(server, `agent_name=${ctx.agent}&limit=3&offset=9`));
      const all = [...ids(body), ...page2, ...page3, ...page4];
      expect(ids(body).length).toBe(3);
      expect(page2.length).toBe(3);
      expect(page3.length).toBe(1);
      expect(page4).toEqual([]);
      expect(new Set(all).size).toBe(7);
      expect(all).toEqual(ctx.expected!.split(","));
    },
  },
  {
    name: "pages of 2 via limit/offset concatenate to the full list",
    method: "GET",
    setup: sevenWithTies,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&limit=2`,
    status: 200,
    after: async (server, body, ctx) => {
      const pages = [ids(body)];
      for (const offset of [2, 4, 6]) pages.push(ids(await list(server, `agent_name=${ctx.agent}&limit=2&offset=${offset}`)));
      expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
      expect(pages.flat()).toEqual(ctx.expected!.split(","));
    },
  },
  {
    name: "offset beyond the end gives an empty array",
    method: "GET",
    setup: sevenWithTies,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&offset=7`,
    status: 200,
    json: [],
  },
];

// ---------------------------------------------------------------------------------------------
// limit / offset validation
// ---------------------------------------------------------------------------------------------

const badPaging: [param: "limit" | "offset", value: string, type: string][] = [
  ["limit", "0", "greater_than_equal"],
  ["limit", "1001", "less_than_equal"],
  ["limit", "-1", "greater_than_equal"],
  ["limit", "abc", "int_parsing"],
  ["limit", "1.5", "int_parsing"],
  ["limit", "", "int_parsing"],
  ["offset", "-1", "greater_than_equal"],
  ["offset", "abc", "int_parsing"],
];

const paging: Scenario[] = [
  ...badPaging.map(([param, value, type]): Scenario => ({
    name: `${param}=${JSON.stringify(value)} is a 422 at ["query","${param}"]`,
    method: "GET",
    path: `${RUNS}?${param}=${encodeURIComponent(value)}`,
    status: 422,
    json: { detail: [{ type, loc: ["query", param], msg: expect.any(String) }] },
  })),
  {
    name: "limit and offset both invalid: one 422 listing both",
    method: "GET",
    path: `${RUNS}?limit=0&offset=-5`,
    status: 422,
    json: { detail: [{ loc: ["query", "limit"] }, { loc: ["query", "offset"] }] },
  },
  {
    name: "limit=1 returns only the newest run",
    method: "GET",
    setup: async (server) => {
      const agent = tag("one");
      const [, newest] = await createRuns(server, [runAt(agent, "2026-01-13T01:00:00Z"), runAt(agent, "2026-01-13T02:00:00Z"), runAt(agent, "2026-01-12T23:00:00Z")]);
      return { agent, newest: newest! };
    },
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&limit=1`,
    status: 200,
    after: (_s, body, ctx) => expect(ids(body)).toEqual([ctx.newest!]),
  },
  {
    name: "limit=1000 is accepted and returns more than the default 100",
    method: "GET",
    setup: hundredAndFive,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&limit=1000`,
    status: 200,
    after: (_s, body, ctx) => {
      const got = ids(body);
      expect(got.length).toBe(105);
      expect(got[0]).toBe(ctx.last!);
      expect(got[104]).toBe(ctx.first!);
    },
  },
  {
    name: "offset=0 is accepted",
    method: "GET",
    setup: async (server) => {
      const agent = tag("off0");
      const [a] = await createRuns(server, [runAt(agent, "2026-01-13T01:00:00Z")]);
      return { agent, a: a! };
    },
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&offset=0&limit=1`,
    status: 200,
    after: (_s, body, ctx) => expect(ids(body)).toEqual([ctx.a!]),
  },
];

// ---------------------------------------------------------------------------------------------
// agent_name / job_type / status filters
// ---------------------------------------------------------------------------------------------

/** Six runs of one agent, one per status spelling, created_at ascending s0..s5. */
async function statusRuns(server: TestServer) {
  const agent = tag("status");
  const statuses = ["failed", "failure", "timeout", "success", "completed", "running"];
  const eventIds = await createRuns(
    server,
    statuses.map((status, i) => runAt(agent, `2026-01-14T0${i}:00:00Z`, { status })),
  );
  return { agent, ...Object.fromEntries(eventIds.map((id, i) => [`s${i}`, id])) };
}

const filters: Scenario[] = [
  {
    name: "agent_name is an exact match (not prefix, not case-insensitive)",
    method: "GET",
    setup: async (server) => {
      const agent = tag("exact");
      const [a] = await createRuns(server, [
        runAt(agent, "2026-01-15T00:00:00Z"),
        runAt(`${agent}-suffix`, "2026-01-15T00:00:01Z"),
        runAt(agent.toUpperCase(), "2026-01-15T00:00:02Z"),
      ]);
      return { agent, a: a! };
    },
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}`,
    status: 200,
    after: (_s, body, ctx) => {
      expect(ids(body)).toEqual([ctx.a!]);
      expect(body).toMatchObject([{ agent_name: ctx.agent }]);
    },
  },
  {
    name: "job_type filter",
    method: "GET",
    setup: async (server) => {
      const agent = tag("job");
      const job = tag("jobtype");
      const [a, , c] = await createRuns(server, [
        runAt(agent, "2026-01-15T01:00:00Z", { job_type: job }),
        runAt(agent, "2026-01-15T02:00:00Z", { job_type: `${job}-other` }),
        runAt(`${agent}-b`, "2026-01-15T03:00:00Z", { job_type: job }),
      ]);
      return { job, a: a!, c: c! };
    },
    path: (ctx) => `${RUNS}?job_type=${ctx.job}`,
    status: 200,
    after: (_s, body, ctx) => {
      expect(ids(body)).toEqual([ctx.c!, ctx.a!]);
      expect(body).toMatchObject([{ job_type: ctx.job }, { job_type: ctx.job }]);
    },
  },
  {
    name: "agent_name and job_type together (AND)",
    method: "GET",
    setup: async (server) => {
      const agent = tag("and");
      const job = tag("andjob");
      const [, b] = await createRuns(server, [
        runAt(agent, "2026-01-15T01:00:00Z", { job_type: `${job}-x` }),
        runAt(agent, "2026-01-15T02:00:00Z", { job_type: job }),
        runAt(`${agent}-x`, "2026-01-15T03:00:00Z", { job_type: job }),
      ]);
      return { agent, job, b: b! };
    },
    path: (ctx) => `${RUNS}?${q({ agent_name: ctx.agent!, job_type: ctx.job! })}`,
    status: 200,
    after: (_s, body, ctx) => expect(ids(body)).toEqual([ctx.b!]),
  },
  {
    name: "status=failure finds rows posted as failure and as the alias failed (stored canonical)",
    method: "GET",
    setup: statusRuns,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&status=failure`,
    status: 200,
    after: (_s, body, ctx) => {
      expect(ids(body)).toEqual([ctx.s1!, ctx.s0!]);
      expect(body).toMatchObject([{ status: "failure" }, { status: "failure" }]);
    },
  },
  {
    name: "status=failed (alias) finds failure rows",
    method: "GET",
    setup: statusRuns,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&status=failed`,
    status: 200,
    after: (_s, body, ctx) => {
      expect(ids(body)).toEqual([ctx.s1!, ctx.s0!]);
      expect(body).toMatchObject([{ status: "failure" }, { status: "failure" }]);
    },
  },
  {
    name: "status=completed and status=succeeded (aliases) find success rows",
    method: "GET",
    setup: statusRuns,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&status=completed`,
    status: 200,
    after: async (server, body, ctx) => {
      expect(ids(body)).toEqual([ctx.s4!, ctx.s3!]);
      expect(body).toMatchObject([{ status: "success" }, { status: "success" }]);
      expect(ids(await list(server, `agent_name=${ctx.agent}&status=succeeded`))).toEqual([ctx.s4!, ctx.s3!]);
    },
  },
  {
    name: "status=running finds the run posted without a status change",
    method: "GET",
    setup: statusRuns,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&status=running`,
    status: 200,
    after: (_s, body, ctx) => expect(ids(body)).toEqual([ctx.s5!]),
  },
  {
    name: "repeated status (?status=failure&status=timeout) matches any of them",
    method: "GET",
    setup: statusRuns,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&status=failure&status=timeout`,
    status: 200,
    after: (_s, body, ctx) => {
      expect(ids(body)).toEqual([ctx.s2!, ctx.s1!, ctx.s0!]);
      expect(body).toMatchObject([{ status: "timeout" }, { status: "failure" }, { status: "failure" }]);
    },
  },
  {
    name: "repeated status with aliases (?status=failed&status=succeeded)",
    method: "GET",
    setup: statusRuns,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}&status=failed&status=succeeded`,
    status: 200,
    after: (_s, body, ctx) => expect(ids(body)).toEqual([ctx.s4!, ctx.s3!, ctx.s1!, ctx.s0!]),
  },
  {
    name: "invalid status is a 400 with a detail naming the value",
    method: "GET",
    path: `${RUNS}?status=bogus`,
    status: 400,
    after: (_s, body) => {
      const detail = (body as { detail: unknown }).detail;
      expect(typeof detail).toBe("string");
      expect(detail).toContain("'bogus'");
      expect(detail).toContain("running, success, failure, partial, timeout, cancelled");
    },
  },
  {
    name: "invalid status among valid repeated ones is still a 400",
    method: "GET",
    path: `${RUNS}?status=failure&status=nope`,
    status: 400,
    json: { detail: expect.stringContaining("nope") },
  },
];

// ---------------------------------------------------------------------------------------------
// Time filters: exclusive/inclusive bounds, instants across zones, precision, zone-less values
// ---------------------------------------------------------------------------------------------

/** r1..r3 created and started at 10:00, 11:00, 12:00 UTC. */
async function threeHours(server: TestServer) {
  const agent = tag("hours");
  const [r1, r2, r3] = await createRuns(server, [10, 11, 12].map((h) => runAt(agent, `2026-02-01T${h}:00:00Z`)));
  return { agent, r1: r1!, r2: r2!, r3: r3! };
}

/** Runs A (17:00Z) and B (10:00-08:00 = 18:00Z), B inserted first. */
async function acrossZones(server: TestServer) {
  const agent = tag("zones");
  const [b, a] = await createRuns(server, [runAt(agent, "2026-01-01T10:00:00-08:00"), runAt(agent, "2026-01-01T17:00:00Z")]);
  return { agent, a: a!, b: b! };
}

/** C1 and C2 one microsecond apart, the later one inserted first. */
async function microApart(server: TestServer) {
  const agent = tag("micro");
  const [c2, c1] = await createRuns(server, [runAt(agent, "2026-01-03T00:00:00.000002Z"), runAt(agent, "2026-01-03T00:00:00.000001Z")]);
  return { agent, c1: c1!, c2: c2! };
}

/** D1 (.123456900) inserted before D2 (.123456100): equal at microsecond precision. */
async function nanoDigits(server: TestServer) {
  const agent = tag("nano");
  const [d1, d2] = await createRuns(server, [runAt(agent, "2026-01-04T00:00:00.123456900Z"), runAt(agent, "2026-01-04T00:00:00.123456100Z")]);
  return { agent, d1: d1!, d2: d2! };
}

/** E1 at 2026-03-09T23:30:00Z, E2 at 2026-03-10T00:30:00Z. */
async function aroundMidnight(server: TestServer) {
  const agent = tag("midnight");
  const [e1, e2] = await createRuns(server, [runAt(agent, "2026-03-09T23:30:00Z"), runAt(agent, "2026-03-10T00:30:00Z")]);
  return { agent, e1: e1!, e2: e2! };
}

type Fixture = (server: TestServer) => Promise<Record<string, string>>;

/** A scenario: with `fixture`'s runs, GET with `params` (plus the fixture's agent) returns exactly `expected` keys, in order. */
function timeCase(name: string, fixture: Fixture, params: Record<string, string>, expected: string[]): Scenario {
  return {
    name,
    method: "GET",
    setup: fixture,
    path: (ctx) => `${RUNS}?${q({ agent_name: ctx.agent!, ...params })}`,
    status: 200,
    after: (_s, body, ctx) => expect(ids(body)).toEqual(expected.map((k) => ctx[k]!)),
  };
}

const timeFilters: Scenario[] = [
  timeCase("created_after is exclusive", threeHours, { created_after: "2026-02-01T11:00:00Z" }, ["r3"]),
  timeCase("created_before is exclusive", threeHours, { created_before: "2026-02-01T11:00:00Z" }, ["r1"]),
  timeCase("created_after + created_before together", threeHours, { created_after: "2026-02-01T10:00:00Z", created_before: "2026-02-01T12:00:00Z" }, ["r2"]),
  timeCase("start_time_from is inclusive", threeHours, { start_time_from: "2026-02-01T11:00:00Z" }, ["r3", "r2"]),
  timeCase("start_time_to is inclusive", threeHours, { start_time_to: "2026-02-01T11:00:00Z" }, ["r2", "r1"]),
  timeCase("start_time_from = start_time_to selects exactly that instant", threeHours, { start_time_from: "2026-02-01T11:00:00Z", start_time_to: "2026-02-01T11:00:00Z" }, ["r2"]),

  // instants across zones: B (10:00-08:00) is 18:00Z, after A (17:00Z)
  timeCase("ordering compares instants: 10:00-08:00 lists before 17:00Z", acrossZones, {}, ["b", "a"]),
  timeCase("created_after=17:00:00Z finds only the -08:00 run", acrossZones, { created_after: "2026-01-01T17:00:00Z" }, ["b"]),
  timeCase("created_after=09:00:00-08:00 (=17:00Z) finds only the -08:00 run", acrossZones, { created_after: "2026-01-01T09:00:00-08:00" }, ["b"]),
  timeCase("created_after=17:30:00+00:00 finds only the -08:00 run", acrossZones, { created_after: "2026-01-01T17:30:00+00:00" }, ["b"]),
  timeCase("created_before=10:00:00-08:00 finds only the Z run", acrossZones, { created_before: "2026-01-01T10:00:00-08:00" }, ["a"]),
  timeCase("created_before=18:00:00Z finds only the Z run", acrossZones, { created_before: "2026-01-01T18:00:00Z" }, ["a"]),
  timeCase("created_after with a ±HHMM offset (02:59:59+1000 = 16:59:59Z) finds both", acrossZones, { created_after: "2026-01-02T02:59:59+1000" }, ["b", "a"]),
  timeCase("start_time_from=10:00:00-08:00 (inclusive) finds only the -08:00 run", acrossZones, { start_time_from: "2026-01-01T10:00:00-08:00" }, ["b"]),
  timeCase("start_time_to=09:00:00-08:00 (inclusive, =17:00Z) finds only the Z run", acrossZones, { start_time_to: "2026-01-01T09:00:00-08:00" }, ["a"]),
  timeCase("start_time_from=18:00:00Z finds only the -08:00 run", acrossZones, { start_time_from: "2026-01-01T18:00:00Z" }, ["b"]),

  // microsecond precision
  timeCase("runs one microsecond apart: ordering distinguishes them", microApart, {}, ["c2", "c1"]),
  timeCase("runs one microsecond apart: created_after the earlier finds only the later", microApart, { created_after: "2026-01-03T00:00:00.000001Z" }, ["c2"]),
  timeCase("runs one microsecond apart: created_before the later finds only the earlier", microApart, { created_before: "2026-01-03T00:00:00.000002Z" }, ["c1"]),
  timeCase("runs one microsecond apart: start_time_from the later finds only the later", microApart, { start_time_from: "2026-01-03T00:00:00.000002Z" }, ["c2"]),
  timeCase("runs one microsecond apart: start_time_to the earlier finds only the earlier", microApart, { start_time_to: "2026-01-03T00:00:00.000001Z" }, ["c1"]),
  timeCase("runs one microsecond apart: filter in another zone (-05:00)", microApart, { created_after: "2026-01-02T19:00:00.000001-05:00" }, ["c2"]),

  // digits 7-9 are ignored for comparison
  timeCase("digits 7-9 ignored: .123456900 and .123456100 tie, so insertion order decides", nanoDigits, {}, ["d2", "d1"]),
  timeCase("digits 7-9 ignored: created_after=.123456500 excludes .123456900", nanoDigits, { created_after: "2026-01-04T00:00:00.123456500Z" }, []),
  timeCase("digits 7-9 ignored: created_before=.123456999 excludes .123456100", nanoDigits, { created_before: "2026-01-04T00:00:00.123456999Z" }, []),
  timeCase("digits 7-9 ignored: start_time_from=.123456999 (inclusive) includes .123456100", nanoDigits, { start_time_from: "2026-01-04T00:00:00.123456999Z" }, ["d2", "d1"]),
  timeCase("digits 7-9 ignored: start_time_to=.123456000 (inclusive) includes .123456900", nanoDigits, { start_time_to: "2026-01-04T00:00:00.123456000Z" }, ["d2", "d1"]),
  timeCase("digits 7-9 ignored: created_after=.123455999 includes both", nanoDigits, { created_after: "2026-01-04T00:00:00.123455999Z" }, ["d2", "d1"]),
  {
    name: "nanosecond created_at is returned exactly as sent",
    method: "GET",
    setup: nanoDigits,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}`,
    status: 200,
    json: [{ created_at: "2026-01-04T00:00:00.123456100Z" }, { created_at: "2026-01-04T00:00:00.123456900Z" }],
  },
  {
    name: "cross-zone created_at is returned exactly as sent",
    method: "GET",
    setup: acrossZones,
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}`,
    status: 200,
    json: [
      { created_at: "2026-01-01T10:00:00-08:00", start_time: "2026-01-01T10:00:00-08:00" },
      { created_at: "2026-01-01T17:00:00Z", start_time: "2026-01-01T17:00:00Z" },
    ],
  },

  // zone-less values and bare dates are read as UTC
  timeCase("bare date created_before=2026-03-10 is midnight UTC", aroundMidnight, { created_before: "2026-03-10" }, ["e1"]),
  timeCase("bare date created_after=2026-03-10 is midnight UTC", aroundMidnight, { created_after: "2026-03-10" }, ["e2"]),
  timeCase("bare date start_time_from=2026-03-10 is midnight UTC", aroundMidnight, { start_time_from: "2026-03-10" }, ["e2"]),
  timeCase("bare date start_time_to=2026-03-10 is midnight UTC", aroundMidnight, { start_time_to: "2026-03-10" }, ["e1"]),
  timeCase("zone-less created_after=2026-03-10T00:00:00 is UTC", aroundMidnight, { created_after: "2026-03-10T00:00:00" }, ["e2"]),
  timeCase("zone-less created_before=2026-03-10T00:00:00 is UTC", aroundMidnight, { created_before: "2026-03-10T00:00:00" }, ["e1"]),
  timeCase("zone-less start_time_from=2026-03-10T00:30:00 is UTC (inclusive)", aroundMidnight, { start_time_from: "2026-03-10T00:30:00" }, ["e2"]),
  timeCase("zone-less start_time_to=2026-03-09T23:30:00 is UTC (inclusive)", aroundMidnight, { start_time_to: "2026-03-09T23:30:00" }, ["e1"]),
  timeCase("zone-less with a space separator is UTC", aroundMidnight, { created_after: "2026-03-10 00:00:00" }, ["e2"]),
  timeCase("zone-less with fractional seconds is UTC", aroundMidnight, { created_before: "2026-03-09T23:30:00.000001" }, ["e1"]),
];

// garbage timestamps: 400 with the exact detail, for every time filter
const garbage: [param: string, value: string][] = [
  ["created_before", "not-a-date"],
  ["created_after", "yesterday"],
  ["start_time_from", "2026-13-01"],
  ["start_time_to", "2026-02-30T00:00:00Z"],
  ["created_before", "2026-01-01T24:00:00Z"],
  ["created_after", "2026-02-29"],
  ["created_before", "1767225600"],
  ["created_after", "2026-01-01T10:00:00+25:00"],
];

const badTimestamps: Scenario[] = garbage.map(([param, value]): Scenario => ({
  name: `garbage ${param}=${JSON.stringify(value)} is a 400 naming the filter and value`,
  method: "GET",
  path: `${RUNS}?${q({ [param]: value })}`,
  status: 400,
  json: { detail: `Invalid ISO8601 timestamp for ${param}: '${value}'` },
  after: (_s, body) => expect(body).toEqual({ detail: `Invalid ISO8601 timestamp for ${param}: '${value}'` }),
}));

// ---------------------------------------------------------------------------------------------
// better filters: parent_run_id, run_id, git_commit_hash, environment, host, product, website
// ---------------------------------------------------------------------------------------------

const betterFilterFields = ["parent_run_id", "run_id", "git_commit_hash", "environment", "host", "product", "website"] as const;

const betterFilters: Scenario[] = [
  ...betterFilterFields.map((field): Scenario => ({
    name: `${field} filter is an exact match`,
    method: "GET",
    setup: async (server) => {
      const value = tag(field);
      const agent = tag("better");
      const [x] = await createRuns(server, [
        runAt(agent, "2026-01-20T01:00:00Z", { [field]: value }),
        runAt(agent, "2026-01-20T02:00:00Z", { [field]: `${value}-other` }),
        runAt(agent, "2026-01-20T03:00:00Z"),
      ]);
      return { value, x: x! };
    },
    path: (ctx) => `${RUNS}?${q({ [field]: ctx.value! })}`,
    status: 200,
    after: (_s, body, ctx) => {
      expect(ids(body)).toEqual([ctx.x!]);
      expect(body).toMatchObject([{ [field]: ctx.value }]);
    },
  })),
  {
    name: "parent_run_id lists a parent's children newest first",
    method: "GET",
    setup: async (server) => {
      const agent = tag("family");
      const parent = tag("parent-run");
      const [, c1, c2] = await createRuns(server, [
        runAt(agent, "2026-01-21T00:00:00Z", { run_id: parent }),
        runAt(agent, "2026-01-21T01:00:00Z", { parent_run_id: parent }),
        runAt(agent, "2026-01-21T02:00:00Z", { parent_run_id: parent }),
      ]);
      return { parent, c1: c1!, c2: c2! };
    },
    path: (ctx) => `${RUNS}?parent_run_id=${ctx.parent}`,
    status: 200,
    after: (_s, body, ctx) => expect(ids(body)).toEqual([ctx.c2!, ctx.c1!]),
  },
  {
    name: "better filters combine with each other and with agent_name (AND)",
    method: "GET",
    setup: async (server) => {
      const agent = tag("combo");
      const [, , hit] = await createRuns(server, [
        runAt(agent, "2026-01-22T01:00:00Z", { environment: "prod", host: "h1", product: "p", website: "w.example" }),
        runAt(agent, "2026-01-22T02:00:00Z", { environment: "staging", host: "h2", product: "p", website: "w.example" }),
        runAt(agent, "2026-01-22T03:00:00Z", { environment: "prod", host: "h2", product: "p", website: "w.example" }),
      ]);
      return { agent, hit: hit! };
    },
    path: (ctx) => `${RUNS}?${q({ agent_name: ctx.agent!, environment: "prod", host: "h2", product: "p", website: "w.example" })}`,
    status: 200,
    after: (_s, body, ctx) => expect(ids(body)).toEqual([ctx.hit!]),
  },
];

// ---------------------------------------------------------------------------------------------
// RunRecord shape of list items
// ---------------------------------------------------------------------------------------------

const shape: Scenario[] = [
  {
    name: "items are RunRecords: id, api_posted boolean, parsed JSON, commit_url and repo_url",
    method: "GET",
    setup: async (server) => {
      const agent = tag("shape");
      const [full, bare] = await createRuns(server, [
        runAt(agent, "2026-01-23T02:00:00Z", {
          api_posted: true,
          metrics_json: { token_count: 1234, nested: { list: [1, 2, 3] } },
          context_json: { pipeline: "seo-ingest" },
          git_repo: "https://github.com/example/repo",
          git_commit_hash: "abc1234567890",
        }),
        runAt(agent, "2026-01-23T01:00:00Z"),
      ]);
      return { agent, full: full!, bare: bare! };
    },
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}`,
    status: 200,
    json: [
      {
        api_posted: true,
        metrics_json: { token_count: 1234, nested: { list: [1, 2, 3] } },
        context_json: { pipeline: "seo-ingest" },
        commit_url: "https://github.com/example/repo/commit/abc1234567890",
        repo_url: "https://github.com/example/repo",
        status: "running",
      },
      { api_posted: false, commit_url: null, repo_url: null, status: "running" },
    ],
    after: (_s, body, ctx) => {
      const items = body as Record<string, unknown>[];
      expect(Array.isArray(body)).toBe(true);
      expect(ids(body)).toEqual([ctx.full!, ctx.bare!]);
      for (const item of items) {
        expect(Number.isInteger(item.id)).toBe(true);
        expect(typeof item.api_posted).toBe("boolean");
        expect(item).toHaveProperty("commit_url");
        expect(item).toHaveProperty("repo_url");
        expect(item).toHaveProperty("metrics_json");
      }
      expect(items[0]!.id).not.toBe(items[1]!.id);
      // parsed, not the stored JSON text
      expect(typeof items[0]!.metrics_json).toBe("object");
      expect(typeof items[0]!.context_json).toBe("object");
    },
  },
  {
    name: "api_posted sent as \"yes\" is returned as the boolean true",
    method: "GET",
    setup: async (server) => {
      const agent = tag("posted");
      await createRuns(server, [runAt(agent, "2026-01-23T00:00:00Z", { api_posted: "yes" })]);
      return { agent };
    },
    path: (ctx) => `${RUNS}?agent_name=${ctx.agent}`,
    status: 200,
    json: [{ api_posted: true }],
  },
];

runScenarios("GET /api/v1/runs: order and pagination", ordering);
runScenarios("GET /api/v1/runs: limit and offset", paging);
runScenarios("GET /api/v1/runs: agent_name, job_type, status filters", filters);
runScenarios("GET /api/v1/runs: time filters", timeFilters);
runScenarios("GET /api/v1/runs: invalid timestamps", badTimestamps);
runScenarios("GET /api/v1/runs: better filters", betterFilters);
runScenarios("GET /api/v1/runs: RunRecord items", shape);

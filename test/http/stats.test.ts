import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { statsRoutes } from "../../src/api/stats.ts";
import { STATS_LIMITS } from "../../src/domain/stats.ts";
import { createRuns, listFilterErrors } from "../support/runs.ts";
import { runScenarios } from "../support/scenarios.ts";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";

// GET /api/v1/stats: counts per status, success rate, duration percentiles per group and time bucket.

const STATS = "/api/v1/stats";
const tag = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

type Series = {
  group: string | null;
  total: number[];
  by_status: Record<string, number[]>;
  success_rate: (number | null)[];
  duration_ms: { p50: (number | null)[]; p95: (number | null)[]; max: (number | null)[] };
};
type Stats = { bucket: string; group_by: string | null; from: string; to: string; buckets: string[]; series: Series[]; groups_omitted: number; runs: number; truncated: boolean };


async function stats(server: TestServer, query: string): Promise<Stats> {
  const response = await server.call("GET", `${STATS}?${query}`);
  const body = await response.json();
  expect({ status: response.status, body }).toMatchObject({ status: 200 });
  return body as Stats;
}

const at = (agent: string, created: string, status: string, duration_ms: number, extra: Record<string, unknown> = {}) =>
  makeRun({ agent_name: agent, created_at: created, start_time: created, status, duration_ms, ...extra });

/** April 1: 20 successes of 1..20 ms and 2 running; April 2: failures of 5, 50, 500 ms and a success of 7 ms; April 3: nothing. */
async function aprilRuns(server: TestServer): Promise<string> {
  const agent = tag("april");
  await createRuns(server, [
    ...Array.from({ length: 20 }, (_, i) => at(agent, `2026-04-01T${String(i).padStart(2, "0")}:00:00Z`, "success", i + 1, { environment: "prod" })),
    at(agent, "2026-04-01T21:00:00Z", "running", 0),
    at(agent, "2026-04-01T22:00:00Z", "running", 0),
    ...[5, 50, 500].map((d) => at(agent, "2026-04-02T08:00:00Z", "failure", d, { environment: "dev" })),
    at(agent, "2026-04-02T09:00:00Z", "completed", 7, { environment: "prod" }),
  ]);
  return agent;
}
const APRIL = "created_after=2026-03-31T23:59:59.999999Z&created_before=2026-04-04";

describe("stats", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  test("one series of aligned, zero-filled arrays: counts per status, success rate, nearest-rank percentiles over finished runs", async () => {
    const agent = await aprilRuns(server);
    const body = await stats(server, `agent_name=${agent}&${APRIL}`);
    expect(body).toEqual({
      bucket: "day",
      group_by: null,
      from: "2026-04-01T00:00:00Z",
      to: "2026-04-04T00:00:00Z",
      buckets: ["2026-04-01T00:00:00Z", "2026-04-02T00:00:00Z", "2026-04-03T00:00:00Z"],
      series: [
        {
          group: null,
          total: [22, 4, 0],
          by_status: { running: [2, 0, 0], success: [20, 1, 0], failure: [0, 3, 0], partial: [0, 0, 0], timeout: [0, 0, 0], cancelled: [0, 0, 0] },
          success_rate: [1, 0.25, null],
          duration_ms: { p50: [10, 7, null], p95: [19, 500, null], max: [20, 500, null] },
        },
      ],
      groups_omitted: 0,
      runs: 26,
      truncated: false,
    });
  });

  test("group_by gives one series per value, most runs first, null (no value) last", async () => {
    const agent = await aprilRuns(server);
    const byStatus = await stats(server, `agent_name=${agent}&${APRIL}&group_by=status`);
    expect(byStatus.group_by).toBe("status");
    expect(byStatus.series.map((s) => [s.group, s.total])).toEqual([["success", [20, 1, 0]], ["failure", [0, 3, 0]], ["running", [2, 0, 0]]]);
    expect(byStatus.series[2]!.success_rate).toEqual([null, null, null]);
    const byEnvironment = await stats(server, `agent_name=${agent}&${APRIL}&group_by=environment`);
    expect(byEnvironment.series.map((s) => [s.group, s.total])).toEqual([["prod", [20, 1, 0]], ["dev", [0, 3, 0]], [null, [2, 0, 0]]]);
    const byAgent = await stats(server, `agent_name=${agent}&${APRIL}&group_by=agent_name`);
    expect(byAgent.series.map((s) => s.group)).toEqual([agent]);
    const byJob = await stats(server, `agent_name=${agent}&${APRIL}&group_by=job_type`);
    expect(byJob.series.map((s) => s.group)).toEqual(["test-job"]);
  });

  test("hour buckets are UTC hours, instants compared across zones, gaps zero-filled", async () => {
    const agent = tag("hours");
    await createRuns(server, [
      at(agent, "2026-04-05T10:15:00Z", "success", 10),
      at(agent, "2026-04-05T03:45:00-07:00", "failure", 20), // 10:45Z
      at(agent, "2026-04-05T12:59:59.999999Z", "success", 30),
    ]);
    const body = await stats(server, `agent_name=${agent}&bucket=hour&created_after=2026-04-05T09:30:00Z&created_before=2026-04-05T13:00:00Z`);
    expect(body.bucket).toBe("hour");
    expect(body.buckets).toEqual(["2026-04-05T09:00:00Z", "2026-04-05T10:00:00Z", "2026-04-05T11:00:00Z", "2026-04-05T12:00:00Z"]);
    expect(body.from).toBe("2026-04-05T09:30:00.000001Z");
    expect(body.series[0]!.total).toEqual([0, 2, 0, 1]);
    expect(body.series[0]!.success_rate).toEqual([null, 0.5, null, 1]);
  });

  test("buckets before 1970 are floored like any other", async () => {
    const agent = tag("old");
    await createRuns(server, [at(agent, "1969-12-31T23:30:00Z", "success", 1), at(agent, "1970-01-01T00:00:00Z", "success", 2)]);
    const body = await stats(server, `agent_name=${agent}&bucket=hour&created_after=1969-12-31T22:00:00Z&created_before=1970-01-01T01:00:00Z`);
    expect(body.buckets).toEqual(["1969-12-31T22:00:00Z", "1969-12-31T23:00:00Z", "1970-01-01T00:00:00Z"]);
    expect(body.series[0]!.total).toEqual([0, 1, 1]);
  });

  test("without created_after: the 7 days of whole buckets up to now (or created_before)", async () => {
    const agent = tag("recent");
    await createRuns(server, [makeRun({ agent_name: agent, status: "success" }), at(agent, "2020-01-01T00:00:00Z", "success", 1)]);
    const now = new Date();
    const today = `${now.toISOString().slice(0, 10)}T00:00:00Z`;
    const days = await stats(server, `agent_name=${agent}`);
    expect(days.buckets.length).toBe(7);
    expect(days.buckets.at(-1)).toBe(today);
    expect(days.from).toBe(days.buckets[0]!);
    expect(Date.parse(days.to)).toBeGreaterThanOrEqual(now.getTime() - 1000);
    expect(days.series[0]!.total).toEqual([0, 0, 0, 0, 0, 0, 1]);
    expect(days.runs).toBe(1);
    const hours = await stats(server, `agent_name=${agent}&bucket=hour`);
    expect(hours.buckets.length).toBe(168);
    expect(hours.series[0]!.total.at(-1)).toBe(1);
    const before = await stats(server, `agent_name=${agent}&created_before=2020-01-03T12:00:00Z`);
    expect(before.buckets).toEqual(["2019-12-28", "2019-12-29", "2019-12-30", "2019-12-31", "2020-01-01", "2020-01-02", "2020-01-03"].map((d) => `${d}T00:00:00Z`));
    expect(before.series[0]!.total).toEqual([0, 0, 0, 0, 1, 0, 0]);
  });

  test("every list filter applies", async () => {
    const agent = await aprilRuns(server);
    const failures = await stats(server, `agent_name=${agent}&${APRIL}&status=failed&status=running`);
    expect(failures.series[0]!.total).toEqual([2, 3, 0]);
    const prod = await stats(server, `agent_name=${agent}&${APRIL}&environment=prod&start_time_from=2026-04-01T10:00:00Z`);
    expect(prod.series[0]!.total).toEqual([10, 1, 0]);
    expect((await stats(server, `agent_name=${agent}&${APRIL}&job_type=other`)).runs).toBe(0);
  });

  test("names are data: an agent called __proto__ is a group like any other", async () => {
    const job = tag("proto");
    await createRuns(server, [
      at("__proto__", "2026-04-06T01:00:00Z", "success", 1, { job_type: job }),
      at("constructor", "2026-04-06T01:00:00Z", "failure", 1, { job_type: job }),
      at("constructor", "2026-04-06T02:00:00Z", "failure", 1, { job_type: job }),
    ]);
    const body = await stats(server, `job_type=${job}&group_by=agent_name&created_after=2026-04-05T23:59:59.999999Z&created_before=2026-04-07`);
    expect(body.series.map((s) => [s.group, s.total])).toEqual([["constructor", [2]], ["__proto__", [1]]]);
  });

  test(`at most ${STATS_LIMITS.series} series; the rest are counted in groups_omitted`, async () => {
    const job = tag("many");
    await createRuns(server, Array.from({ length: STATS_LIMITS.series + 2 }, (_, i) => at(`agent-${String(i).padStart(3, "0")}`, "2026-04-07T00:00:00Z", "success", i, { job_type: job })));
    const body = await stats(server, `job_type=${job}&group_by=agent_name&created_after=2026-04-06&created_before=2026-04-08`);
    expect(body.series.length).toBe(STATS_LIMITS.series);
    expect(body.groups_omitted).toBe(2);
    expect(body.series[0]!.group).toBe("agent-000");
    expect(body.runs).toBe(STATS_LIMITS.series + 2);
  });

  test("an empty window (created_after not before created_before) has no buckets", async () => {
    const body = await stats(server, "created_after=2026-04-02&created_before=2026-04-01");
    expect(body.buckets).toEqual([]);
    expect(body.series).toEqual([{ group: null, total: [], by_status: expect.any(Object), success_rate: [], duration_ms: { p50: [], p95: [], max: [] } }]);
  });

  test("runs whose created_at could not be read are not counted (they have no bucket)", async () => {
    const agent = tag("legacy");
    await createRuns(server, [at(agent, "2026-04-08T00:00:00Z", "success", 1)]);
    const db = new Database(server.dbPath);
    db.run("INSERT INTO agent_runs (event_id, run_id, agent_name, job_type, start_time, created_at) VALUES (?, 'r', ?, 'j', '2026-04-08T00:00:00Z', 'n/a')", [`${agent}-x`, agent]);
    db.close();
    expect((await stats(server, `agent_name=${agent}&created_after=2026-04-07&created_before=2026-04-09`)).runs).toBe(1);
  });

  test("read in pages between which the server serves others, up to the row cap: then truncated, newest runs counted", async () => {
    const agent = await aprilRuns(server);
    const [route] = statsRoutes(server.app.store, { ...STATS_LIMITS, rows: 10, pageRows: 3 });
    const call = async (query: string) => {
      const url = `${server.base}${STATS}?${query}`;
      const response = await route!.handle({ request: new Request(url), params: {}, query: new URL(url).searchParams, body: undefined });
      return (await response.json()) as Stats;
    };
    const capped = await call(`agent_name=${agent}&${APRIL}`);
    expect(capped).toMatchObject({ runs: 10, truncated: true });
    // Newest first: April 2's four runs, then the last six of April 1 (two running, successes of 20, 19, 18, 17 ms).
    expect(capped.series[0]!.total).toEqual([6, 4, 0]);
    expect(capped.series[0]!.duration_ms.max).toEqual([20, 500, null]);
    const [paged] = statsRoutes(server.app.store, { ...STATS_LIMITS, pageRows: 3 });
    const url = `${server.base}${STATS}?agent_name=${agent}&${APRIL}&group_by=status`;
    const small = (await (await paged!.handle({ request: new Request(url), params: {}, query: new URL(url).searchParams, body: undefined })).json()) as Stats;
    expect(small).toEqual(await stats(server, `agent_name=${agent}&${APRIL}&group_by=status`));
    expect(small.truncated).toBe(false);
  });
});

runScenarios("stats errors", [
  {
    name: "unknown group_by and bucket are 422 in FastAPI's shape, both reported",
    method: "GET",
    path: `${STATS}?group_by=host&bucket=week`,
    status: 422,
    json: {
      detail: [
        { type: "literal_error", loc: ["query", "group_by"], msg: "Input should be 'agent_name', 'job_type', 'status' or 'environment'", input: "host" },
        { type: "literal_error", loc: ["query", "bucket"], msg: "Input should be 'hour' or 'day'", input: "week" },
      ],
    },
  },
  {
    name: "a window of too many buckets is 400, suggesting day buckets",
    method: "GET",
    path: `${STATS}?bucket=hour&created_after=2020-01-01&created_before=2026-01-01`,
    status: 400,
    json: { detail: `The window holds 52608 hour buckets; the limit is ${STATS_LIMITS.buckets}: narrow created_after/created_before or use bucket=day` },
  },
  {
    name: "day buckets allow years",
    method: "GET",
    path: `${STATS}?bucket=day&created_after=2021-01-01&created_before=2026-01-01`,
    status: 200,
    json: { bucket: "day", runs: 0 },
  },
  ...listFilterErrors(STATS),
  {
    name: "windows reaching past year 9999 are clamped, not a 500",
    method: "GET",
    path: `${STATS}?created_after=9999-12-30&created_before=9999-12-31T23:59:59.999999Z`,
    status: 200,
    json: { buckets: ["9999-12-30T00:00:00Z", "9999-12-31T00:00:00Z"] },
  },
]);

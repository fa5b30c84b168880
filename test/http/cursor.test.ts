import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeCursor, encodeCursor } from "../../src/api/cursor.ts";
import { createRuns } from "../support/runs.ts";
import { runScenarios } from "../support/scenarios.ts";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";

// Keyset pagination of GET /api/v1/runs: `cursor` in, X-Next-Cursor and Link out, the body still a plain array.

const RUNS = "/api/v1/runs";
const tag = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;


interface Listed {
  status: number;
  ids: string[];
  next: string | null;
  link: string | null;
}
async function list(server: TestServer, path: string): Promise<Listed> {
  const response = await server.call("GET", path);
  const body = (await response.json()) as { event_id: string }[];
  expect(Array.isArray(body)).toBe(true);
  return { status: response.status, ids: body.map((r) => r.event_id), next: response.headers.get("x-next-cursor"), link: response.headers.get("link") };
}

/** Follows X-Next-Cursor from `first` to the last page; returns every page's ids. */
async function walk(server: TestServer, query: string): Promise<string[][]> {
  const pages: string[][] = [];
  let page = await list(server, `${RUNS}?${query}`);
  for (;;) {
    expect(page.status).toBe(200);
    pages.push(page.ids);
    if (!page.next) return pages;
    expect(pages.length).toBeLessThan(1000);
    page = await list(server, `${RUNS}?${query}&cursor=${page.next}`);
  }
}

/** Seven runs with created_at ties, inserted out of order; `expected` is the list order. */
async function sevenWithTies(server: TestServer) {
  const agent = tag("ties");
  const createdAt = ["03", "02", "04", "02", "01", "03", "02"].map((h) => `2026-01-11T${h}:00:00Z`);
  const ids = await createRuns(server, createdAt.map((at, i) => makeRun({ agent_name: agent, created_at: at, run_id: `p${i}` })));
  return { agent, expected: [2, 5, 0, 6, 3, 1, 4].map((i) => ids[i]!) };
}

describe("cursor pagination", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  test("pages of every size concatenate to the offset listing, with ties; the last page has no next cursor", async () => {
    const { agent, expected } = await sevenWithTies(server);
    for (const limit of [1, 2, 3, 6, 7, 8]) {
      const pages = await walk(server, `agent_name=${agent}&limit=${limit}`);
      expect({ limit, ids: pages.flat() }).toEqual({ limit, ids: expected });
      // A full last page is known to be last (one row more is read to find out), so no empty page follows.
      expect(pages.map((p) => p.length)).toEqual(Array.from({ length: Math.ceil(7 / limit) }, (_, i) => Math.min(limit, 7 - i * limit)));
    }
  });

  test("Link names the next page with the same filters, without offset; following it equals following the cursor", async () => {
    const { agent, expected } = await sevenWithTies(server);
    const first = await list(server, `${RUNS}?agent_name=${agent}&status=running&status=completed&limit=3&offset=1`);
    expect(first.ids).toEqual(expected.slice(1, 4));
    expect(first.link).toBe(`<${RUNS}?agent_name=${agent}&status=running&status=completed&limit=3&cursor=${first.next}>; rel="next"`);
    const viaLink = await list(server, first.link!.slice(1, first.link!.indexOf(">")));
    expect(viaLink.ids).toEqual(expected.slice(4, 7));
    expect(viaLink.next).toBeNull();
    expect(viaLink.link).toBeNull();
  });

  test("stable while runs are inserted: every run that existed is seen exactly once, unlike offset paging", async () => {
    const agent = tag("moving");
    const original = await createRuns(server, Array.from({ length: 30 }, (_, i) => makeRun({ agent_name: agent, run_id: `o${i}` })));
    const insertSome = () => createRuns(server, [makeRun({ agent_name: agent }), makeRun({ agent_name: agent }), makeRun({ agent_name: agent, created_at: "2000-01-01T00:00:00Z" })]);
    let page = await list(server, `${RUNS}?agent_name=${agent}&limit=7`);
    const seen = [...page.ids];
    await insertSome();
    // By offset, page two now repeats the end of page one: two newer runs pushed it down.
    const byOffset = await list(server, `${RUNS}?agent_name=${agent}&limit=7&offset=7`);
    expect(byOffset.ids.slice(0, 2)).toEqual(page.ids.slice(5, 7));
    while (page.next) {
      page = await list(server, `${RUNS}?agent_name=${agent}&limit=7&cursor=${page.next}`);
      seen.push(...page.ids);
      await insertSome();
    }
    expect(seen.filter((id) => original.includes(id))).toEqual([...original].reverse());
    expect(new Set(seen).size).toBe(seen.length);
  });

  test("legacy rows without an instant (unreadable created_at) come last, by id, and the cursor crosses into and through them", async () => {
    const agent = tag("legacy");
    const dated = await createRuns(server, [1, 2, 3].map((d) => makeRun({ agent_name: agent, created_at: `2026-02-0${d}T00:00:00Z` })));
    // As an ops shell or an old reference service could leave them: text the instant parser cannot read, no instant.
    const db = new Database(server.dbPath);
    const legacy = ["legacy-a", "legacy-b", "legacy-c"].map((id) => `${agent}-${id}`);
    for (const id of legacy) {
      db.run("INSERT INTO agent_runs (event_id, run_id, agent_name, job_type, start_time, created_at) VALUES (?, 'r', ?, 'j', '2026-01-01T00:00:00Z', 'yesterday-ish')", [id, agent]);
    }
    expect(db.query("SELECT count(*) AS n FROM agent_runs WHERE agent_name = ? AND created_at_us IS NULL").get(agent)).toEqual({ n: 3 });
    db.close();
    const expected = [...[...dated].reverse(), ...[...legacy].reverse()];
    expect((await list(server, `${RUNS}?agent_name=${agent}`)).ids).toEqual(expected);
    for (const limit of [1, 2, 4]) expect((await walk(server, `agent_name=${agent}&limit=${limit}`)).flat()).toEqual(expected);
    // Without filters too (the first part then walks idx_runs_created_us, the second its NULL end).
    const all = (await walk(server, "limit=1000")).flat();
    expect(all.slice(-3)).toEqual([...legacy].reverse());
    // A created_at range never matches a row without an instant, so the walk stops before them.
    expect((await walk(server, `agent_name=${agent}&limit=1&created_after=2000-01-01`)).flat()).toEqual([...dated].reverse());
  });

  test("each cursor is the position of the page's last run", async () => {
    const { agent, expected } = await sevenWithTies(server);
    const page = await list(server, `${RUNS}?agent_name=${agent}&limit=2`);
    const position = decodeCursor(page.next!)!;
    const last = (await (await server.call("GET", `${RUNS}/${expected[1]}`)).json()) as { id: number };
    expect(position).toEqual({ createdAtUs: BigInt(Date.parse("2026-01-11T03:00:00Z")) * 1000n, id: last.id });
  });
});

describe("cursor encoding", () => {
  test("round-trips every position, including none and pre-1970 instants", () => {
    for (const position of [
      { createdAtUs: 1_767_225_600_000_000n, id: 1 },
      { createdAtUs: null, id: 9_007_199_254_740_991 },
      { createdAtUs: -62_135_596_800_000_000n, id: 0 },
    ]) {
      expect(decodeCursor(encodeCursor(position))).toEqual(position);
    }
  });

  test("refuses anything it could not have written", () => {
    const b64 = (text: string) => Buffer.from(text).toString("base64url");
    for (const bad of ["", "zzz", "=", b64("1:5"), b64("2:5:5"), b64("1:007:5"), b64("1:-0:5"), b64("1:5:05"), b64("1:n:-1"), b64("1:n:99999999999999999"),
      b64("1:99999999999999999999:1"), `${b64("1:5:5")}=`, b64("1:5:5").replace(/.$/, "+"), b64(" 1:5:5"), b64("1:5:5\n")]) {
      expect({ bad, decoded: decodeCursor(bad) }).toEqual({ bad, decoded: null });
    }
  });
});

runScenarios("cursor errors", [
  ...["not-a-cursor", "", "MTo1", "MTo1OjU=", "%FF"].map((cursor) => ({
    name: `cursor=${cursor} is 400 Invalid cursor`,
    method: "GET",
    path: `${RUNS}?cursor=${cursor}`,
    status: 400,
    json: { detail: "Invalid cursor" },
  })),
  {
    name: "cursor with a non-zero offset is 400 (two positions: refused rather than guessed)",
    method: "GET",
    path: `${RUNS}?cursor=${encodeCursor({ createdAtUs: 1n, id: 1 })}&offset=5`,
    status: 400,
    json: { detail: "cursor and offset cannot be combined: follow X-Next-Cursor without offset" },
  },
  {
    name: "cursor with offset=0 (the default, as some clients always send it) is fine",
    method: "GET",
    path: `${RUNS}?cursor=${encodeCursor({ createdAtUs: 1n, id: 1 })}&offset=0`,
    status: 200,
    json: [],
  },
  {
    name: "a bad limit is still 422 before the cursor is read",
    method: "GET",
    path: `${RUNS}?cursor=bad&limit=0`,
    status: 422,
    json: { detail: [{ type: "greater_than_equal", loc: ["query", "limit"] }] },
  },
  {
    name: "no X-Next-Cursor when nothing more matches",
    method: "GET",
    path: `${RUNS}?agent_name=${tag("nobody")}`,
    status: 200,
    json: [],
    after: async (server) => {
      const response = await server.call("GET", `${RUNS}?agent_name=nobody-at-all`);
      expect(response.headers.get("x-next-cursor")).toBeNull();
      expect(response.headers.get("link")).toBeNull();
    },
  },
  {
    name: "CORS exposes X-Next-Cursor and Link to browser dashboards",
    method: "GET",
    path: `${RUNS}?limit=1`,
    headers: { origin: "https://dash.example" },
    status: 200,
    after: async (server) => {
      const response = await server.call("GET", `${RUNS}?limit=1`, undefined, { origin: "https://dash.example" });
      expect(response.headers.get("access-control-expose-headers")).toContain("x-next-cursor, link");
    },
  },
], { TELEMETRY_CORS_ORIGINS: "https://dash.example" });

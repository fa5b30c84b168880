import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CSV_COLUMNS, EXPORT_PAGE_ROWS } from "../../src/api/export.ts";
import type { RunQuery } from "../../src/store/run-store.ts";
import { createRuns, listFilterErrors } from "../support/runs.ts";
import { runScenarios } from "../support/scenarios.ts";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";

// GET /api/v1/runs/export: every filter of the list, streamed in keyset pages, NDJSON or RFC 4180 CSV.

const RUNS = "/api/v1/runs";
const EXPORT = `${RUNS}/export`;
const tag = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

type Json = Record<string, unknown>;


async function listAll(server: TestServer, query: string): Promise<Json[]> {
  const response = await server.call("GET", `${RUNS}?${query}&limit=1000`);
  expect(response.headers.get("x-next-cursor")).toBeNull();
  return (await response.json()) as Json[];
}

async function exportText(server: TestServer, query: string): Promise<{ response: Response; text: string }> {
  const response = await server.call("GET", `${EXPORT}?${query}`);
  const text = await response.text();
  expect({ status: response.status, text: response.status === 200 ? "" : text }).toEqual({ status: 200, text: "" });
  return { response, text };
}

const ndjson = (text: string) => (text === "" ? [] : text.split("\n").slice(0, -1).map((line) => JSON.parse(line) as Json));

/**
 * A strict RFC 4180 reader: records end in CRLF, a quoted field may hold anything with quotes doubled, an
 * unquoted one no quote, CR or LF. Each field says whether it was quoted (null vs empty string).
 */
function parseCsv(text: string): { value: string; quoted: boolean }[][] {
  const records: { value: string; quoted: boolean }[][] = [];
  let i = 0;
  while (i < text.length) {
    const record: { value: string; quoted: boolean }[] = [];
    for (;;) {
      let value = "";
      const quoted = text[i] === '"';
      if (quoted) {
        i++;
        for (;;) {
          const end = text.indexOf('"', i);
          if (end < 0) throw new Error("unterminated quoted field");
          value += text.slice(i, end);
          i = end + 1;
          if (text[i] !== '"') break;
          value += '"';
          i++;
        }
      } else {
        const end = text.slice(i).search(/[,\r\n"]/) + i;
        if (end < i || text[end] === '"') throw new Error(`bad unquoted field at ${i}`);
        value = text.slice(i, end);
        i = end;
      }
      record.push({ value, quoted });
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text.slice(i, i + 2) !== "\r\n") throw new Error(`record not ended by CRLF at ${i}: ${JSON.stringify(text.slice(i, i + 10))}`);
      i += 2;
      break;
    }
    records.push(record);
  }
  return records;
}

/** What a RunRecord field must look like in the CSV: JSON text for the JSON columns, null as an unquoted empty field. */
function expectedCsvField(record: Json, column: string): { value: string; quoted?: boolean } {
  const value = record[column];
  if (value === null || value === undefined) return { value: "", quoted: false };
  if (column === "metrics_json" || column === "context_json") return { value: typeof value === "string" ? value : JSON.stringify(value) };
  return { value: String(value) };
}

const TRICKY = ["a,b", 'say "hi"', "line1\nline2", "cr\rhere", "crlf\r\nhere", "ünï ✓ 😀", " padded ", '"', ",", "", "=SUM(A1)"];

describe("export", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  test("NDJSON is exactly the list's RunRecords, one per line, newest first, as an attachment", async () => {
    const agent = tag("nd");
    await createRuns(server, [
      makeRun({ agent_name: agent, metrics_json: { tokens: 5, nested: { a: [1, 2] } }, context_json: { k: "v" }, api_posted: true }),
      makeRun({ agent_name: agent, git_repo: "https://github.com/o/r.git", git_commit_hash: "abc1234", status: "failure", error_summary: TRICKY.join("|") }),
      makeRun({ agent_name: agent, created_at: "2026-01-01T00:00:00-08:00" }),
    ]);
    const { response, text } = await exportText(server, `agent_name=${agent}`);
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="runs-\d{8}T\d{6}Z\.ndjson"$/);
    expect(text.endsWith("\n")).toBe(true);
    expect(ndjson(text)).toEqual(await listAll(server, `agent_name=${agent}`));
  });

  test("CSV is RFC 4180: the RunRecord's columns, CRLF, quoting only where needed, quotes doubled, null apart from empty", async () => {
    const agent = tag("csv");
    const runs = TRICKY.map((text, i) =>
      makeRun({
        agent_name: agent,
        error_summary: text,
        output_summary: i % 2 ? null : text,
        metrics_json: { text, i },
        api_posted: i % 2 === 0,
        ...(i === 0 ? { git_repo: "git@gitlab.com:g/sub/r.git", git_commit_hash: "abcdef1234" } : {}),
      }),
    );
    await createRuns(server, runs);
    const { response, text } = await exportText(server, `agent_name=${agent}&format=csv`);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="runs-\d{8}T\d{6}Z\.csv"$/);
    const [header, ...rows] = parseCsv(text);
    expect(header!.map((f) => f.value)).toEqual([...CSV_COLUMNS]);
    expect(header!.some((f) => f.quoted)).toBe(false);
    const records = await listAll(server, `agent_name=${agent}`);
    expect(rows.length).toBe(records.length);
    rows.forEach((row, r) => {
      const record = records[r]!;
      const got = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, row[i]]));
      const want = Object.fromEntries(CSV_COLUMNS.map((c) => [c, expect.objectContaining(expectedCsvField(record, c))]));
      expect(got).toEqual(want);
    });
    // Quoting exactly when RFC 4180 needs it (or for an empty string, to tell it from null).
    const summaries = rows.map((row) => row[CSV_COLUMNS.indexOf("error_summary")]!);
    expect(summaries.map((f) => f.quoted)).toEqual(records.map((r) => r.error_summary === "" || /[",\r\n]/.test(r.error_summary as string)));
    expect(rows.map((row) => row[CSV_COLUMNS.indexOf("output_summary")]!)).toContainEqual({ value: "", quoted: false });
    expect(rows.map((row) => row[CSV_COLUMNS.indexOf("api_posted")]!.value).sort()).toEqual([...Array(5).fill("false"), ...Array(6).fill("true")]);
    expect(text).toContain(',"crlf\r\nhere",');
    expect(text).toContain(',"say ""hi""",');
    expect(rows.map((row) => row[CSV_COLUMNS.indexOf("commit_url")]!.value)).toContain("https://gitlab.com/g/sub/r/-/commit/abcdef1234");
  });

  test("more than one page: every run once, in list order, whichever the format", async () => {
    const agent = tag("pages");
    const count = 2 * EXPORT_PAGE_ROWS + 345;
    const ids = await createRuns(server, Array.from({ length: count }, (_, i) => makeRun({ agent_name: agent, run_id: `r${i}` })));
    const lines = ndjson((await exportText(server, `agent_name=${agent}`)).text);
    expect(lines.map((r) => r.event_id)).toEqual([...ids].reverse());
    const rows = parseCsv((await exportText(server, `agent_name=${agent}&format=csv`)).text).slice(1);
    expect(rows.map((row) => row[1]!.value)).toEqual([...ids].reverse());
  });

  test("every filter of the list applies, with the list's answers", async () => {
    const agent = tag("filters");
    await createRuns(server, [
      makeRun({ agent_name: agent, status: "failure", environment: "prod", created_at: "2026-03-01T00:00:00Z", start_time: "2026-03-01T00:00:00Z" }),
      makeRun({ agent_name: agent, status: "timeout", environment: "prod", created_at: "2026-03-02T00:00:00Z", start_time: "2026-03-02T00:00:00Z" }),
      makeRun({ agent_name: agent, status: "success", environment: "dev", created_at: "2026-03-03T00:00:00Z", start_time: "2026-03-03T00:00:00Z", host: "h1" }),
      makeRun({ agent_name: agent, status: "failure", environment: "dev", created_at: "2026-03-04T00:00:00Z", start_time: "2026-03-04T00:00:00Z" }),
    ]);
    for (const filter of [
      "status=failure",
      "status=failed&status=timeout",
      "environment=prod",
      "host=h1",
      "created_after=2026-03-01T00:00:00Z&created_before=2026-03-04",
      "start_time_from=2026-03-02&start_time_to=2026-03-03T00:00:00Z",
      "job_type=test-job&environment=dev&status=failure",
    ]) {
      const query = `agent_name=${agent}&${filter}`;
      const exported = ndjson((await exportText(server, query)).text);
      expect({ filter, ids: exported.map((r) => r.event_id) }).toEqual({ filter, ids: (await listAll(server, query)).map((r) => r.event_id) });
      expect(exported.length).toBeGreaterThan(0);
    }
  });

  test("nothing matching: an empty NDJSON body, a CSV of the header alone", async () => {
    const agent = tag("none");
    expect((await exportText(server, `agent_name=${agent}`)).text).toBe("");
    expect((await exportText(server, `agent_name=${agent}&format=csv`)).text).toBe(`${CSV_COLUMNS.join(",")}\r\n`);
  });

  test("legacy rows: unreadable created_at exported last, invalid stored JSON as its raw text", async () => {
    const agent = tag("legacy");
    await createRuns(server, [makeRun({ agent_name: agent })]);
    const db = new Database(server.dbPath);
    db.run(
      "INSERT INTO agent_runs (event_id, run_id, agent_name, job_type, start_time, created_at, metrics_json) VALUES (?, 'r', ?, 'j', '2026-01-01T00:00:00Z', 'garbage', '{not json')",
      [`${agent}-old`, agent],
    );
    db.close();
    const lines = ndjson((await exportText(server, `agent_name=${agent}`)).text);
    expect(lines.map((r) => r.event_id)).toEqual([expect.any(String), `${agent}-old`]);
    expect(lines[1]).toMatchObject({ metrics_json: "{not json", metrics_json_parse_error: expect.stringContaining("line 1") });
    const rows = parseCsv((await exportText(server, `agent_name=${agent}&format=csv`)).text);
    expect(rows[2]![CSV_COLUMNS.indexOf("metrics_json")]!.value).toBe("{not json");
  });

  test("streamed with backpressure: a paused client holds the server to a few pages; a cancelled one stops it", async () => {
    const agent = tag("stream");
    const pages = 12;
    await createRuns(server, Array.from({ length: pages * EXPORT_PAGE_ROWS }, () => makeRun({ agent_name: agent, error_details: "x".repeat(2000) })));
    const store = server.app.store;
    const original = store.listRuns.bind(store);
    let reads = 0;
    store.listRuns = (query: RunQuery) => {
      reads++;
      return original(query);
    };
    try {
      const response = await server.call("GET", `${EXPORT}?agent_name=${agent}`);
      const reader = response.body!.getReader();
      await reader.read();
      await Bun.sleep(300);
      const whilePaused = reads;
      expect(whilePaused).toBeLessThan(pages);
      let lines = 0;
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) lines += chunk.value.filter((b: number) => b === 10).length;
      expect(reads).toBe(pages); // the last page is known to be last (one row more is read), so no empty read follows
      expect(lines).toBeGreaterThan(0);

      reads = 0;
      const cancelled = await server.call("GET", `${EXPORT}?agent_name=${agent}`);
      const partial = cancelled.body!.getReader();
      await partial.read();
      await partial.cancel();
      await Bun.sleep(200);
      const afterCancel = reads;
      await Bun.sleep(200);
      expect(reads).toBe(afterCancel);
      expect(afterCancel).toBeLessThan(pages);
    } finally {
      store.listRuns = original;
    }
  });

  test("a run named 'export' is not shadowed: a bare GET /api/v1/runs/export (no query string) is that run (behaviours.md)", async () => {
    expect(await (await server.call("GET", EXPORT)).json()).toEqual({ detail: "Run not found: export" });
    const run = makeRun({ event_id: "export", run_id: tag("named-export"), git_repo: "https://github.com/o/r", git_commit_hash: "abcdef1" });
    expect([200, 201]).toContain((await server.call("POST", RUNS, run)).status);
    const got = await server.call("GET", EXPORT);
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({ event_id: "export", run_id: run.run_id });
    const exported = await server.call("GET", `${EXPORT}?format=ndjson`);
    expect(exported.headers.get("content-type")).toBe("application/x-ndjson");
    await exported.text();
    expect((await server.call("PATCH", EXPORT, { error_summary: "still reachable" })).status).toBe(200);
    expect(await (await server.call("GET", `${EXPORT}/commit-url`)).json()).toEqual({ commit_url: "https://github.com/o/r/commit/abcdef1" });
    expect(await listAll(server, `run_id=${run.run_id}`)).toEqual([expect.objectContaining({ event_id: "export", error_summary: "still reachable" })]);
  });
});

runScenarios("export errors", [
  {
    name: "an unknown format is 422 at [query, format] in FastAPI's shape",
    method: "GET",
    path: `${EXPORT}?format=xlsx`,
    status: 422,
    json: { detail: [{ type: "literal_error", loc: ["query", "format"], msg: "Input should be 'ndjson' or 'csv'", input: "xlsx" }] },
  },
  {
    name: "the format is case-sensitive, like the list's other literals",
    method: "GET",
    path: `${EXPORT}?format=CSV`,
    status: 422,
  },
  {
    name: "a repeated format takes the last value (Starlette)",
    method: "GET",
    path: `${EXPORT}?format=csv&format=ndjson`,
    status: 200,
    responseHeaders: { "content-type": "application/x-ndjson" },
  },
  ...listFilterErrors(EXPORT),
  {
    name: "other methods are 405 listing GET (export) and PATCH (a run named export)",
    method: "POST",
    path: EXPORT,
    body: {},
    status: 405,
    responseHeaders: { allow: "GET, HEAD, PATCH" },
  },
]);

runScenarios(
  "export under auth and rate limiting: the list's flags",
  [
    { name: "no token needed (like GET /api/v1/runs)", method: "GET", path: `${EXPORT}?format=ndjson`, status: 200 },
    { name: "second request within the limit", method: "GET", path: `${EXPORT}?status=failure`, status: 200 },
    { name: "rate limited like the list", method: "GET", path: EXPORT, status: 429, json: { detail: "Rate limit exceeded. Max 2 requests per minute." } },
  ],
  { TELEMETRY_API_AUTH_ENABLED: "true", TELEMETRY_API_AUTH_TOKEN: "secret-token", TELEMETRY_RATE_LIMIT_ENABLED: "true", TELEMETRY_RATE_LIMIT_RPM: "2" },
);

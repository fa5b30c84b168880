import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";

// Another process (an ops sqlite3 shell, a backup) holding the write lock: writes wait for the busy
// timeout, then get a complete 503 answer; nothing is half-stored and the server recovers by itself.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ TELEMETRY_DB_BUSY_TIMEOUT_MS: "150" });
});
afterAll(() => server.close());

test("a write blocked by a foreign lock past the busy timeout is a 503 with a clear detail, then succeeds once released", async () => {
  const holder = new Database(server.dbPath);
  holder.run("BEGIN IMMEDIATE");
  const blocked = makeRun();
  const response = await server.call("POST", "/api/v1/runs", blocked);
  expect(response.status).toBe(503);
  expect(response.headers.get("retry-after")).toBe("1");
  const body = (await response.json()) as { detail: string };
  expect(body.detail).toContain("locked by another process");
  expect(body.detail).not.toContain("agent_runs");
  holder.run("ROLLBACK");
  holder.close();

  expect((await server.call("GET", `/api/v1/runs/${blocked.event_id}`)).status).toBe(404);
  const retried = await server.call("POST", "/api/v1/runs", blocked);
  expect(retried.status).toBe(201);
});

test("reads keep working while another connection holds the write lock (WAL)", async () => {
  const run = makeRun();
  expect((await server.call("POST", "/api/v1/runs", run)).status).toBe(201);
  const holder = new Database(server.dbPath);
  holder.run("BEGIN IMMEDIATE");
  try {
    const response = await server.call("GET", `/api/v1/runs/${run.event_id}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { event_id: string }).event_id).toBe(run.event_id as string);
  } finally {
    holder.run("ROLLBACK");
    holder.close();
  }
});

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";

const TOKEN = "s3cr3t-token-value-0123456789";
const lines: string[] = [];
let app: App;
let base: string;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "telemetry-log-"));
  const config = loadConfig([], {
    TELEMETRY_API_HOST: "127.0.0.1",
    TELEMETRY_API_PORT: "0",
    TELEMETRY_DB_PATH: join(dir, "t.sqlite"),
    TELEMETRY_API_AUTH_ENABLED: "true",
    TELEMETRY_API_AUTH_TOKEN: TOKEN,
  });
  app = startApp(config, createLogger("info", (line) => lines.push(line)));
  base = app.url.href.replace(/\/$/, "");
});
afterAll(async () => {
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
});

const post = (headers: Record<string, string>) =>
  fetch(`${base}/api/v1/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, ...headers },
    body: JSON.stringify({ event_id: "log-1", run_id: "r", agent_name: "secret-agent-name", job_type: "j", start_time: "2026-01-05T18:40:27Z", error_details: "BODY-TEXT" }),
  });

test("one JSON line per request with id, method, path, status, duration and client ip; never the token or the body", async () => {
  const response = await post({});
  expect(response.status).toBe(201);
  const requestId = response.headers.get("x-request-id")!;
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  await fetch(`${base}/api/v1/runs`, { method: "POST", headers: { authorization: "Bearer wrong-token" }, body: "{}" });

  const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.message === "request");
  expect(entries).toHaveLength(2);
  expect(entries[0]).toMatchObject({ level: "info", request_id: requestId, method: "POST", path: "/api/v1/runs", status: 201, client_ip: "127.0.0.1" });
  expect(typeof entries[0]!.duration_ms).toBe("number");
  expect(typeof entries[0]!.time).toBe("string");
  expect(entries[1]).toMatchObject({ status: 401 });
  const all = lines.join("\n");
  for (const secret of [TOKEN, "wrong-token", "BODY-TEXT", "secret-agent-name", "authorization", "Bearer"]) expect(all).not.toContain(secret);
});

test("X-Request-Id sent by the client is echoed; an unsafe one is replaced", async () => {
  const echoed = await fetch(`${base}/health`, { headers: { "x-request-id": "trace-abc-123" } });
  expect(echoed.headers.get("x-request-id")).toBe("trace-abc-123");
  const replaced = await fetch(`${base}/health`, { headers: { "x-request-id": "bad id with spaces" } });
  expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
});

test("LOG_LEVEL=warning drops request lines", () => {
  const quiet: string[] = [];
  createLogger("warning", (line) => quiet.push(line)).info("request", {});
  createLogger("warning", (line) => quiet.push(line)).warning("disk almost full", {});
  expect(quiet.map((l) => JSON.parse(l).message)).toEqual(["disk almost full"]);
});

// Last in this file: it breaks the database on purpose.
test("a database error on the write path is a generic 500 for the client and SQLite's own text in the log", async () => {
  const { Database } = await import("bun:sqlite");
  const shell = new Database(join(dir, "t.sqlite"));
  shell.run("ALTER TABLE agent_runs RENAME TO agent_runs_moved_away");
  shell.close();
  const response = await post({});
  expect(response.status).toBe(500);
  const body = await response.text();
  expect(body).toBe('{"detail":"Internal database error"}');
  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.message === "database error");
  expect(logged.at(-1)?.error).toContain("no such table: agent_runs");
});

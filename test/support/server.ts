import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp, type App, type AppOptions } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";

export interface TestServer {
  app: App;
  base: string;
  dbPath: string;
  dir: string;
  /** fetch relative to the server; a non-string body is sent as JSON. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Starts the real server on 127.0.0.1, port 0, on a fresh database in a temp folder (or `dbPath`).
 * `env` takes the same variables as production, so tests exercise the real configuration path;
 * `options` can give the background jobs a clock the test controls.
 */
export async function startTestServer(env: Record<string, string> = {}, dbPath?: string, options: AppOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "telemetry-test-"));
  const path = dbPath ?? join(dir, "telemetry.sqlite");
  const config = loadConfig([], { TELEMETRY_API_HOST: "127.0.0.1", TELEMETRY_API_PORT: "0", TELEMETRY_DB_PATH: path, LOG_LEVEL: "error", ...env });
  const app = startApp(config, createLogger(config.logLevel, () => {}), options);
  const base = app.url.href.replace(/\/$/, "");
  return {
    app,
    base,
    dbPath: path,
    dir,
    call(method, urlPath, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
      return fetch(base + urlPath, init);
    },
    async close() {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;
/** A valid TelemetryRun with a unique event_id; `overrides` replace or add fields. */
export function makeRun(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return {
    event_id: `evt-${process.pid}-${Date.now()}-${counter}`,
    run_id: `run-${counter}`,
    agent_name: "test-agent",
    job_type: "test-job",
    start_time: "2026-01-05T18:40:27Z",
    ...overrides,
  };
}

import { expect, test } from "bun:test";
import { TelemetryClient, type TelemetryError } from "../../src/client/index.ts";
import type { TestServer } from "../support/server.ts";
import { tempDir, testOptions, useServer } from "./helpers.ts";

let server: TestServer;
useServer((started) => (server = started));

interface Seen {
  method: string;
  path: string;
  body: string;
  answered: number;
}

/**
 * A proxy in front of the real server that answers the first few requests matching `method path-prefix` with an
 * injected status (and Retry-After), then forwards everything.
 */
function faultyProxy(faults: { method: string; path: string; times: number; status: number; retryAfter?: string }[]) {
  const seen: Seen[] = [];
  const proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const body = await request.text();
      const fault = faults.find((f) => f.times > 0 && f.method === request.method && url.pathname.startsWith(f.path));
      if (fault) {
        fault.times--;
        seen.push({ method: request.method, path: url.pathname, body, answered: fault.status });
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
        return new Response(JSON.stringify({ detail: "injected" }), { status: fault.status, headers });
      }
      const init: RequestInit = { method: request.method, headers: request.headers };
      if (body) init.body = body;
      const response = await fetch(server.base + url.pathname + url.search, init);
      seen.push({ method: request.method, path: url.pathname, body, answered: response.status });
      return new Response(await response.arrayBuffer(), { status: response.status, headers: response.headers });
    },
  });
  return { url: `http://127.0.0.1:${proxy.port}`, seen, stop: () => proxy.stop(true) };
}

test("500s and 429s are retried with the same event_id until the server takes the write, with no duplicate", async () => {
  const proxy = faultyProxy([
    { method: "POST", path: "/api/v1/runs", times: 2, status: 500 },
    { method: "PATCH", path: "/api/v1/runs/", times: 2, status: 429, retryAfter: "0" },
    { method: "POST", path: "/api/v1/runs/", times: 1, status: 503, retryAfter: "1" },
  ]);
  try {
    const errors: TelemetryError[] = [];
    const telemetry = new TelemetryClient({ url: proxy.url, ...testOptions(tempDir(), errors) });
    const run = await telemetry.startRun({ agent_name: "sdk-retry", job_type: "j" });
    await telemetry.updateRun(run, { items_succeeded: 1 });
    await telemetry.associateCommit(run, { commit_hash: "abcdef12", commit_source: "ci" });
    const ended = await telemetry.endRun(run);
    expect(ended.ok).toBe(true);

    const posts = proxy.seen.filter((s) => s.method === "POST" && s.path === "/api/v1/runs");
    expect(posts.map((s) => s.answered)).toEqual([500, 500, 201]);
    expect(new Set(posts.map((s) => JSON.parse(s.body).event_id))).toEqual(new Set([run.event_id]));
    expect(proxy.seen.filter((s) => s.method === "PATCH").map((s) => s.answered)).toEqual([429, 429, 200, 200]);
    expect(proxy.seen.filter((s) => s.path.endsWith("/associate-commit")).map((s) => s.answered)).toEqual([503, 200]);
    expect(errors).toEqual([]);
    expect(telemetry.spool!.isEmpty()).toBe(true);

    const rows = (await (await server.call("GET", "/api/v1/runs?agent_name=sdk-retry")).json()) as { status: string; items_succeeded: number; git_commit_hash: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "success", items_succeeded: 1, git_commit_hash: "abcdef12" });
  } finally {
    proxy.stop();
  }
});

test("a server that keeps failing gets the write spooled; the next call replays it once the server recovers", async () => {
  const proxy = faultyProxy([{ method: "POST", path: "/api/v1/runs", times: 4, status: 503 }]);
  try {
    const errors: TelemetryError[] = [];
    const telemetry = new TelemetryClient({ url: proxy.url, ...testOptions(tempDir(), errors) });
    const run = await telemetry.startRun({ agent_name: "sdk-giveup", job_type: "j" });
    expect(run.result).toMatchObject({ ok: false, spooled: true, error: { kind: "server", status: 503, attempts: 4 } });
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining("answered 503 after 4 attempt(s); spooled to")]);

    expect((await telemetry.endRun(run)).ok).toBe(true); // replays the spooled POST through the batch endpoint first
    expect(proxy.seen.map((s) => `${s.method} ${s.path} ${s.answered}`).slice(4)).toEqual([
      "GET /health 200",
      "POST /api/v1/runs/batch 200",
      `PATCH /api/v1/runs/${run.event_id} 200`,
    ]);
    const rows = (await (await server.call("GET", "/api/v1/runs?agent_name=sdk-giveup")).json()) as { status: string }[];
    expect(rows.map((r) => r.status)).toEqual(["success"]);
  } finally {
    proxy.stop();
  }
});

import { describe, expect, test } from "bun:test";
import { describeDetail, rejectedIndexes, type TelemetryError } from "../../src/client/errors.ts";
import { backoffDelay, HttpTransport, isRetryableStatus, parseRetryAfter, type FetchLike, type HttpResult } from "../../src/client/http.ts";

describe("retry rules", () => {
  test("network errors aside, only 408, 429 and 5xx are retried", () => {
    for (const status of [408, 429, 500, 502, 503, 504]) expect(isRetryableStatus(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 405, 413, 422]) expect(isRetryableStatus(status)).toBe(false);
  });

  test("backoff doubles from the base, is capped, and keeps half of its ceiling whatever the jitter", () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect([0, 1, 2, 3, 4].map((retry) => backoffDelay(retry, policy, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect([0, 1, 2, 3, 4].map((retry) => backoffDelay(retry, policy, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(300);
  });

  test("Retry-After is read as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("0")).toBe(0);
    expect(parseRetryAfter(" 2 ")).toBe(2000);
    const now = Date.parse("2026-01-05T18:40:27Z");
    expect(parseRetryAfter("Mon, 05 Jan 2026 18:40:30 GMT", now)).toBe(3000);
    expect(parseRetryAfter("Mon, 05 Jan 2026 18:40:00 GMT", now)).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter("-1")).toBeUndefined();
  });
});

describe("error descriptions", () => {
  const body = {
    detail: [
      { type: "missing", loc: ["body", 0, "start_time"], msg: "Field required" },
      { type: "string_type", loc: ["body", 2, "agent_name"], msg: "Input should be a valid string" },
    ],
  };

  test("a 422 names each field; a batch item's problems are named without the index", () => {
    expect(describeDetail(body)).toBe("0.start_time: Field required; 2.agent_name: Input should be a valid string");
    expect(describeDetail(body, 2)).toBe("agent_name: Input should be a valid string");
    expect(describeDetail({ detail: "Run not found: x" })).toBe("Run not found: x");
    expect(rejectedIndexes(body)).toEqual([0, 2]);
    expect(rejectedIndexes({ detail: "nope" })).toEqual([]);
  });
});

/** A fetch that answers from a script (an Error is thrown as a network failure) and records each call. */
function scripted(...answers: (Response | Error)[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, init });
    const next = answers.shift() ?? new Response('{"ok":true}', { status: 200 });
    if (next instanceof Error) throw next;
    return next;
  };
  return { fetch, calls };
}

function transport(fetch: FetchLike, sleeps: number[] = [], offlineHoldMs = 0) {
  return new HttpTransport({
    url: "http://telemetry.test/",
    token: "s3cret",
    retries: 3,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    timeoutMs: 1000,
    offlineHoldMs,
    fetch,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 1,
  });
}

function failureOf(result: HttpResult): TelemetryError {
  if (result.ok) throw new Error(`expected a failure, got ${result.status}`);
  return result.error;
}

describe("HttpTransport", () => {
  test("retries network errors with backoff, sending the same body each time", async () => {
    const { fetch, calls } = scripted(new TypeError("fetch failed"), new TypeError("fetch failed"), new Response('{"status":"created"}', { status: 201 }));
    const sleeps: number[] = [];
    const result = await transport(fetch, sleeps).request("POST", "/api/v1/runs", { event_id: "e1" });
    expect(result).toEqual({ ok: true, status: 201, body: { status: "created" }, attempts: 3 });
    expect(sleeps).toEqual([100, 200]);
    expect(calls.map((c) => c.init.body)).toEqual(Array(3).fill('{"event_id":"e1"}'));
    expect(calls[0]!.url).toBe("http://telemetry.test/api/v1/runs");
    expect((calls[0]!.init.headers as Record<string, string>).authorization).toBe("Bearer s3cret");
  });

  test("429 waits exactly what Retry-After says", async () => {
    const limited = () => new Response('{"detail":"Rate limit exceeded."}', { status: 429, headers: { "retry-after": "1" } });
    const { fetch, calls } = scripted(limited(), new Response('{"detail":"x"}', { status: 503, headers: { "retry-after": "0" } }), new Response("{}", { status: 200 }));
    const sleeps: number[] = [];
    expect((await transport(fetch, sleeps).request("GET", "/x")).ok).toBe(true);
    expect(sleeps).toEqual([1000, 0]);
    expect(calls).toHaveLength(3);
  });

  test("a Retry-After beyond the longest wait is not retried, and says so", async () => {
    const { fetch, calls } = scripted(new Response('{"detail":"Rate limit exceeded."}', { status: 429, headers: { "retry-after": "60" } }));
    const error = failureOf(await transport(fetch).request("POST", "/api/v1/runs", {}));
    expect(calls).toHaveLength(1);
    expect([error.kind, error.transient]).toEqual(["server", true]);
    expect(error.message).toContain("retry after 60 s");
  });

  test("5xx is retried until the retries run out", async () => {
    const { fetch, calls } = scripted(...Array.from({ length: 5 }, () => new Response('{"detail":"Internal Server Error"}', { status: 500 })));
    const error = failureOf(await transport(fetch).request("GET", "/x"));
    expect(calls).toHaveLength(4);
    expect([error.kind, error.status, error.attempts]).toEqual(["server", 500, 4]);
  });

  test("a validation error is final: one request, a clear message", async () => {
    const detail = { detail: [{ type: "missing", loc: ["body", "start_time"], msg: "Field required" }] };
    const { fetch, calls } = scripted(new Response(JSON.stringify(detail), { status: 422 }));
    const error = failureOf(await transport(fetch).request("POST", "/api/v1/runs", {}));
    expect(calls).toHaveLength(1);
    expect([error.kind, error.transient]).toEqual(["rejected", false]);
    expect(error.message).toBe("POST /api/v1/runs was rejected with 422: start_time: Field required (not retried)");
  });

  test("once the server was unreachable, the next request tries once; any answer restores retries", async () => {
    const down = () => new TypeError("fetch failed");
    const { fetch, calls } = scripted(down(), down(), down(), down(), down(), new Response("{}", { status: 500 }), new Response("{}", { status: 200 }), down(), down());
    const http = transport(fetch);
    expect(failureOf(await http.request("GET", "/a")).kind).toBe("unreachable");
    expect(calls).toHaveLength(4);
    await http.request("GET", "/b");
    expect(calls).toHaveLength(5);
    expect((await http.request("GET", "/c")).ok).toBe(true); // a single 500 was retried: the server answers again
    expect(calls).toHaveLength(7);
    const fourth = await http.request("GET", "/d"); // down, down, then the script's default 200
    expect(fourth.ok && fourth.attempts).toBe(3);
    expect(calls).toHaveLength(10);
  });

  test("right after the server was found unreachable, requests fail without touching the network unless forced", async () => {
    const { fetch, calls } = scripted(...Array.from({ length: 4 }, () => new TypeError("fetch failed")));
    const http = transport(fetch, [], 60_000);
    await http.request("POST", "/api/v1/runs", {});
    expect(calls).toHaveLength(4);
    const held = failureOf(await http.request("PATCH", "/api/v1/runs/e1", {}));
    expect([held.kind, held.attempts, calls.length]).toEqual(["unreachable", 0, 4]);
    expect(held.message).toMatch(/^PATCH \/api\/v1\/runs\/e1: http:\/\/telemetry\.test was unreachable \d+ ms ago; not tried again yet$/);
    expect((await http.request("GET", "/health", undefined, { retries: 0, force: true })).ok).toBe(true);
    expect(calls).toHaveLength(5);
    expect((await http.request("GET", "/x")).ok).toBe(true);
  });
});

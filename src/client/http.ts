import { describeDetail, TelemetryError } from "./errors.ts";

export interface RetryPolicy {
  /** Retries after the first attempt (so `retries + 1` attempts at most). */
  retries: number;
  /** First backoff ceiling; it doubles on each retry. */
  baseDelayMs: number;
  /** Longest single wait, backoff or Retry-After; a server asking for longer is not retried (the spool takes over). */
  maxDelayMs: number;
  /** Per attempt. */
  timeoutMs: number;
}

/** The part of fetch the client uses; tests inject their own. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions extends RetryPolicy {
  url: string;
  token?: string | undefined;
  fetch?: FetchLike;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export type HttpResult<T = unknown> = { ok: true; status: number; body: T; attempts: number } | { ok: false; error: TelemetryError };

const USER_AGENT = "local-telemetry-api-client/2.1.0";

/** Retried: the answer may differ next time. Every other 4xx is final. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** "Equal jitter": half the exponential ceiling for sure, the other half at random, so clients spread out but never hammer. */
export function backoffDelay(retry: number, policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** Retry-After in ms (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = /GMT$/i.test(text) ? Date.parse(text) : NaN; // an IMF-fixdate; "-1" or "soon" are unreadable
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * JSON over fetch with retries on network errors, 5xx and 429 (honouring Retry-After), never on other 4xx.
 * After a request finds the server unreachable, later ones try once until any answer arrives, so a client
 * with the server down records to the spool at once instead of waiting out a backoff for every event.
 */
export class HttpTransport {
  private readonly base: string;
  private readonly fetchImpl: FetchLike;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private offline = false;

  constructor(private readonly options: TransportOptions) {
    this.base = options.url.replace(/\/+$/, "");
    this.fetchImpl = options.fetch ?? ((url, init) => fetch(url, init));
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  get url(): string {
    return this.base;
  }

  /** `retries` overrides the policy for this request (a probe wants one attempt). */
  async request<T = unknown>(method: string, path: string, body?: unknown, retries = this.options.retries): Promise<HttpResult<T>> {
    let payload: string | undefined;
    try {
      payload = body === undefined ? undefined : JSON.stringify(body);
    } catch (error) {
      const message = `${method} ${path}: the body cannot be sent as JSON (${error instanceof Error ? error.message : String(error)})`;
      return { ok: false, error: new TelemetryError("rejected", message, { method, path, attempts: 0, cause: error }) };
    }
    const headers: Record<string, string> = { accept: "application/json", "user-agent": USER_AGENT };
    if (payload !== undefined) headers["content-type"] = "application/json";
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;

    let failure: TelemetryError;
    for (let attempt = 1; ; attempt++) {
      let wait: number | undefined;
      try {
        const init: RequestInit = { method, headers, signal: AbortSignal.timeout(this.options.timeoutMs) };
        if (payload !== undefined) init.body = payload;
        const response = await this.fetchImpl(this.base + path, init);
        this.offline = false;
        const parsed = parseBody(await response.text());
        if (response.ok) return { ok: true, status: response.status, body: parsed as T, attempts: attempt };
        const info = { method, path, status: response.status, body: parsed, attempts: attempt };
        const what = `${method} ${path}`;
        if (!isRetryableStatus(response.status)) {
          const detail = describeDetail(parsed);
          return { ok: false, error: new TelemetryError("rejected", `${what} was rejected with ${response.status}${detail ? `: ${detail}` : ""} (not retried)`, info) };
        }
        failure = new TelemetryError("server", `${what} answered ${response.status} after ${attempt} attempt(s)`, info);
        const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
        if (retryAfter !== undefined && retryAfter > this.options.maxDelayMs) {
          failure = new TelemetryError("server", `${what} answered ${response.status} asking to retry after ${Math.ceil(retryAfter / 1000)} s, longer than this client waits`, info);
          return { ok: false, error: failure };
        }
        wait = retryAfter;
      } catch (error) {
        const reason = error instanceof Error ? (error.name === "TimeoutError" ? `no answer within ${this.options.timeoutMs} ms` : error.message) : String(error);
        failure = new TelemetryError("unreachable", `${method} ${path}: ${this.base} is unreachable (${reason}) after ${attempt} attempt(s)`, {
          method, path, attempts: attempt, cause: error,
        });
      }
      if (attempt > (this.offline ? 0 : retries)) break;
      await this.sleep(wait ?? backoffDelay(attempt - 1, this.options, this.random));
    }
    if (failure.kind === "unreachable") this.offline = true;
    return { ok: false, error: failure };
  }
}

function parseBody(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

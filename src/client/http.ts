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
  /** After the server was found unreachable, how long requests fail at once (to be spooled) before one is tried. */
  offlineHoldMs: number;
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

/** One attempt's verdict: done (success or a final failure), or worth another try after `wait` ms (backoff if unset). */
type Attempt<T> = { done: HttpResult<T> } | { retry: TelemetryError; wait?: number };

export interface RequestOptions {
  /** Overrides the policy's retries (a probe wants one attempt). */
  retries?: number;
  /** Go to the network even while the server counts as unreachable. */
  force?: boolean;
}

/**
 * JSON over fetch with retries on network errors, 5xx and 429 (honouring Retry-After), never on other 4xx.
 * Once a request finds the server unreachable, later ones fail at once for `offlineHoldMs` (the caller spools
 * them), then one attempt is made; any answer restores the full policy. So with the server down, or silently
 * dropping packets, an agent pays the backoff once, not on every event.
 */
export class HttpTransport {
  private readonly base: string;
  private readonly fetchImpl: FetchLike;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  /** When the server was last found unreachable; null while it answers. */
  private offlineAt: number | null = null;

  constructor(private readonly options: TransportOptions) {
    this.base = options.url.replace(/\/+$/, "");
    this.fetchImpl = options.fetch ?? ((url, init) => fetch(url, init));
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  get url(): string {
    return this.base;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<HttpResult<T>> {
    let init: RequestInit;
    try {
      init = this.init(method, body);
    } catch (error) {
      const message = `${method} ${path}: the body cannot be sent as JSON (${error instanceof Error ? error.message : String(error)})`;
      return { ok: false, error: new TelemetryError("rejected", message, { method, path, attempts: 0, cause: error }) };
    }
    const since = this.offlineAt === null ? Infinity : Date.now() - this.offlineAt;
    if (!options.force && since < this.options.offlineHoldMs) {
      const message = `${method} ${path}: ${this.base} was unreachable ${Math.round(since)} ms ago; not tried again yet`;
      return { ok: false, error: new TelemetryError("unreachable", message, { method, path, attempts: 0 }) };
    }
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt<T>(method, path, init, attempt);
      if ("done" in outcome) return outcome.done;
      if (attempt > (this.offlineAt === null ? (options.retries ?? this.options.retries) : 0)) {
        if (outcome.retry.kind === "unreachable") this.offlineAt = Date.now();
        return { ok: false, error: outcome.retry };
      }
      await this.sleep(outcome.wait ?? backoffDelay(attempt - 1, this.options, this.random));
    }
  }

  private init(method: string, body: unknown): RequestInit {
    const headers: Record<string, string> = { accept: "application/json", "user-agent": USER_AGENT };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body === undefined) return { method, headers };
    headers["content-type"] = "application/json";
    return { method, headers, body: JSON.stringify(body) };
  }

  private async attempt<T>(method: string, path: string, init: RequestInit, attempt: number): Promise<Attempt<T>> {
    const what = `${method} ${path}`;
    let response: Response;
    let parsed: unknown;
    try {
      response = await this.fetchImpl(this.base + path, { ...init, signal: AbortSignal.timeout(this.options.timeoutMs) });
      parsed = parseBody(await response.text());
    } catch (error) {
      const reason = error instanceof Error ? (error.name === "TimeoutError" ? `no answer within ${this.options.timeoutMs} ms` : error.message) : String(error);
      return { retry: new TelemetryError("unreachable", `${what}: ${this.base} is unreachable (${reason}) after ${attempt} attempt(s)`, { method, path, attempts: attempt, cause: error }) };
    }
    this.offlineAt = null;
    if (response.ok) return { done: { ok: true, status: response.status, body: parsed as T, attempts: attempt } };
    const info = { method, path, status: response.status, body: parsed, attempts: attempt };
    if (!isRetryableStatus(response.status)) {
      const detail = describeDetail(parsed);
      return { done: { ok: false, error: new TelemetryError("rejected", `${what} was rejected with ${response.status}${detail ? `: ${detail}` : ""} (not retried)`, info) } };
    }
    const wait = parseRetryAfter(response.headers.get("retry-after"));
    if (wait !== undefined && wait > this.options.maxDelayMs) {
      const message = `${what} answered ${response.status} asking to retry after ${Math.ceil(wait / 1000)} s, longer than this client waits`;
      return { done: { ok: false, error: new TelemetryError("server", message, info) } };
    }
    const retry = new TelemetryError("server", `${what} answered ${response.status} after ${attempt} attempt(s)`, info);
    return wait === undefined ? { retry } : { retry, wait };
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

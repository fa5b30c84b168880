import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { reportToStderr, TelemetryError } from "./errors.ts";
import { HttpTransport, type FetchLike, type HttpResult } from "./http.ts";
import { executeReplay, planReplay } from "./replay.ts";
import { DEFAULT_SPOOL_MAX_BYTES, defaultSpoolDir, Spool, SpoolError, type SpoolEntry } from "./spool.ts";
import { track } from "./track.ts";
import type { BatchResponse, CommitAssociation, NewRun, RunQuery, RunRecord, RunUpdate, StartRunInput } from "./types.ts";

export interface TelemetryClientOptions {
  /** Server base URL; default $TELEMETRY_API_URL, else http://localhost:8765. */
  url?: string;
  /** Bearer token; default $TELEMETRY_API_AUTH_TOKEN. */
  token?: string;
  /** Throw a TelemetryError when a call does not land (also when it was spooled). Default false: report and go on. */
  strict?: boolean;
  /** Retries after the first attempt (default 3), first backoff ceiling (250 ms), longest wait (5 s), per-attempt timeout (10 s). */
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  /** After the server was found unreachable, how long writes go straight to the spool before it is tried again (5 s). */
  offlineHoldMs?: number;
  /** Keep writes the server cannot take in a local spool and replay them later (default true). */
  spool?: boolean;
  /** Default $TELEMETRY_SPOOL_DIR, else $XDG_STATE_HOME/local-telemetry-api/spool, else ~/.local/state/local-telemetry-api/spool. */
  spoolDir?: string;
  /** Default 64 MiB; beyond it new events are dropped and reported. */
  spoolMaxBytes?: number;
  /** Called for every failure that is not thrown; default: one line on stderr. */
  onError?: (error: TelemetryError) => void;
  /** Environment to read defaults from (default process.env). */
  env?: Record<string, string | undefined>;
  fetch?: FetchLike;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** A run this client started: pass it (or its event_id) to updateRun / endRun / associateCommit. */
export interface Run {
  readonly event_id: string;
  readonly run_id: string;
  readonly agent_name: string;
  readonly job_type: string;
  readonly start_time: string;
}

/** How a write went: delivered (with the server's answer), or not, and then whether it waits in the spool. */
export type WriteResult<T = unknown> = { ok: true; status: number; body: T } | { ok: false; spooled: boolean; error: TelemetryError };

export interface StartedRun extends Run {
  readonly result: WriteResult;
}

export interface FlushResult {
  /** Spooled entries the server now has. */
  delivered: number;
  /** Spooled entries the server refused for good (moved to rejected.ndjson and reported). */
  rejected: number;
  /** Bytes still waiting. */
  pendingBytes: number;
  error?: TelemetryError;
}

const RUNS = "/api/v1/runs";
const runPath = (eventId: string) => `${RUNS}/${encodeURIComponent(eventId)}`;

/**
 * Records runs in a Telemetry API server. Writes are retried, ordered per run, and spooled to disk when the
 * server cannot take them; they never throw unless `strict` is set.
 */
export class TelemetryClient {
  readonly url: string;
  readonly strict: boolean;
  readonly spool: Spool | null;
  private readonly http: HttpTransport;
  private readonly onError: (error: TelemetryError) => void;
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly startedAt = new Map<string, number>();
  private flushing: Promise<FlushResult> | null = null;
  private spoolingReported = false;

  constructor(options: TelemetryClientOptions = {}) {
    const env = options.env ?? process.env;
    this.url = (options.url ?? env.TELEMETRY_API_URL ?? "http://localhost:8765").replace(/\/+$/, "");
    this.strict = options.strict ?? false;
    this.onError = options.onError ?? reportToStderr;
    this.http = new HttpTransport({
      url: this.url,
      token: options.token ?? env.TELEMETRY_API_AUTH_TOKEN,
      retries: options.retries ?? 3,
      baseDelayMs: options.baseDelayMs ?? 250,
      maxDelayMs: options.maxDelayMs ?? 5000,
      timeoutMs: options.timeoutMs ?? 10_000,
      offlineHoldMs: options.offlineHoldMs ?? 5000,
      ...(options.fetch && { fetch: options.fetch }),
      ...(options.sleep && { sleep: options.sleep }),
      ...(options.random && { random: options.random }),
    });
    this.spool = options.spool === false ? null : new Spool(options.spoolDir ?? defaultSpoolDir(env), options.spoolMaxBytes ?? DEFAULT_SPOOL_MAX_BYTES);
  }

  /**
   * Starts a run without waiting: the POST (status running) is queued, and `sent` settles when it landed or was
   * spooled. Later writes for the run wait for it. event_id (a UUID), run_id, start_time and host are filled in.
   */
  beginRun(input: StartRunInput): { run: Run; sent: Promise<WriteResult> } {
    const body = completeRun(input);
    this.startedAt.set(body.event_id, performance.now());
    const { event_id, run_id, agent_name, job_type, start_time } = body;
    const sent = this.write({ op: "create", event_id, body }, "POST", RUNS);
    return { run: { event_id, run_id, agent_name, job_type, start_time }, sent };
  }

  /** Starts a run (status running) and waits until the server has it or it is spooled. */
  async startRun(input: StartRunInput): Promise<StartedRun> {
    const { run, sent } = this.beginRun(input);
    return { ...run, result: await sent };
  }

  updateRun(run: Run | string, update: RunUpdate): Promise<WriteResult> {
    const event_id = typeof run === "string" ? run : run.event_id;
    return this.write({ op: "update", event_id, body: update }, "PATCH", runPath(event_id));
  }

  /** Ends a run: status (default success), end_time now and duration_ms since it started, unless given. */
  endRun(run: Run | string, update: RunUpdate = {}): Promise<WriteResult> {
    const event_id = typeof run === "string" ? run : run.event_id;
    const end = new Date();
    const started = this.startedAt.get(event_id);
    this.startedAt.delete(event_id);
    const elapsed = started !== undefined ? performance.now() - started : typeof run === "string" ? NaN : end.getTime() - Date.parse(run.start_time);
    return this.updateRun(event_id, {
      status: "success",
      end_time: end.toISOString(),
      ...(Number.isFinite(elapsed) && { duration_ms: Math.max(0, Math.round(elapsed)) }),
      ...update,
    });
  }

  associateCommit(run: Run | string, association: CommitAssociation): Promise<WriteResult> {
    const event_id = typeof run === "string" ? run : run.event_id;
    return this.write({ op: "associate", event_id, body: association }, "POST", `${runPath(event_id)}/associate-commit`);
  }

  /** Creates many runs in one request (at most 10,000 by default on the server); missing ids and start times are filled in. */
  async createBatch(runs: readonly StartRunInput[]): Promise<WriteResult<BatchResponse>> {
    const bodies = runs.map(completeRun);
    await this.flushIfSpooled();
    const sent = await this.http.request<BatchResponse>("POST", `${RUNS}/batch`, bodies);
    if (sent.ok) return { ok: true, status: sent.status, body: sent.body };
    return this.keep(bodies.map((body) => ({ op: "create", event_id: body.event_id, body })), sent.error) as WriteResult<BatchResponse>;
  }

  /** One run, or null when there is none (or, unless strict, when the server could not say). */
  async getRun(eventId: string): Promise<RunRecord | null> {
    const got = await this.http.request<RunRecord>("GET", runPath(eventId));
    if (got.ok) return got.body;
    if (got.error.status === 404) return null;
    return this.readFailed(got, null);
  }

  /** Runs matching the filters, newest first ([] unless strict when the server could not answer). */
  async queryRuns(query: RunQuery = {}): Promise<RunRecord[]> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined && one !== null) params.append(name, String(one));
    }
    const text = params.toString();
    return this.readFailed(await this.http.request<RunRecord[]>("GET", text ? `${RUNS}?${text}` : RUNS), []);
  }

  /** Runs `fn` as a run of `agent`/`job`: running, then success, or failure with the error, which is rethrown. */
  track<T>(agent: string, job: string, fn: (run: Run) => T | Promise<T>, fields: Partial<StartRunInput> = {}): Promise<T> {
    return track(this, agent, job, fn, fields);
  }

  /** Replays the spool through the batch endpoint if the server answers; safe to call any time, from any process; never throws. */
  flush(): Promise<FlushResult> {
    return this.replayOnce(true);
  }

  /** One replay at a time in this client; `force` asks the server even if it was unreachable a moment ago. */
  private replayOnce(force: boolean): Promise<FlushResult> {
    return (this.flushing ??= this.replay(force)
      .catch((error: unknown): FlushResult => {
        const message = `replaying the spool ${this.spool?.dir} failed: ${error instanceof Error ? error.message : String(error)}`;
        const failure = new TelemetryError("spool", message, { method: "POST", path: `${RUNS}/batch`, attempts: 0, cause: error });
        this.onError(failure);
        return { delivered: 0, rejected: 0, pendingBytes: this.spool?.pendingBytes() ?? 0, error: failure };
      })
      .finally(() => (this.flushing = null)));
  }

  private async replay(force: boolean): Promise<FlushResult> {
    const spool = this.spool;
    if (!spool || spool.isEmpty()) return { delivered: 0, rejected: 0, pendingBytes: 0 };
    // One attempt: when it fails the client counts as offline, so the write that follows tries once and is spooled
    // at once; a process that starts while older events wait in the spool is not held up by a full backoff.
    const health = await this.http.request("GET", "/health", undefined, { retries: 0, force });
    if (!health.ok) return { delivered: 0, rejected: 0, pendingBytes: spool.pendingBytes(), error: health.error };
    const claim = spool.claim();
    if (!claim) return { delivered: 0, rejected: 0, pendingBytes: spool.pendingBytes() };
    let outcome;
    try {
      outcome = await executeReplay(planReplay(claim.entries), this.http, spool, (error) => this.onError(error));
    } catch (error) {
      claim.release();
      throw error;
    }
    if (outcome.error) claim.release();
    else claim.done();
    return { ...outcome, pendingBytes: spool.pendingBytes() };
  }

  private async flushIfSpooled(): Promise<void> {
    if (this.spool && !this.spool.isEmpty()) await this.replayOnce(false);
  }

  /** One write, after the earlier writes of the same run; straight to the spool while the run's POST still waits there. */
  private write(entry: SpoolEntry, method: string, path: string): Promise<WriteResult> {
    return this.inOrder(entry.event_id, async () => {
      await this.flushIfSpooled();
      if (entry.op !== "create" && this.spool?.holds(entry.event_id)) {
        const waiting = new TelemetryError("unreachable", `${method} ${path} waits in the spool behind the run's creation`, { method, path, attempts: 0 });
        return this.keep([entry], waiting);
      }
      const sent = await this.http.request(method, path, entry.body);
      return sent.ok ? { ok: true, status: sent.status, body: sent.body } : this.keep([entry], sent.error);
    });
  }

  /** A write that did not land: spooled when the failure is transient, then reported (or thrown when strict). */
  private keep(entries: SpoolEntry[], error: TelemetryError): WriteResult<never> {
    if (error.transient && this.spool) {
      try {
        const spooledAt = new Date().toISOString();
        for (const entry of entries) this.spool.append(entry.op === "create" ? { ...entry, body: { created_at: spooledAt, ...entry.body } } : entry);
        error.spooled = true;
      } catch (spoolError) {
        if (!(spoolError instanceof SpoolError)) throw spoolError;
        error = new TelemetryError("spool", `${error.message}; and ${spoolError.message}`, { ...error, cause: spoolError });
      }
    }
    if (this.strict) throw error;
    if (!error.spooled) this.onError(error);
    else if (!this.spoolingReported) {
      this.spoolingReported = true;
      this.onError(new TelemetryError(error.kind, `${error.message}; spooled to ${this.spool!.dir}, replayed once the server answers`, { ...error }));
    }
    return { ok: false, spooled: error.spooled, error };
  }

  private readFailed<T>(got: HttpResult<T>, fallback: T): T {
    if (got.ok) return got.body;
    if (this.strict) throw got.error;
    this.onError(got.error);
    return fallback;
  }

  private inOrder<T>(key: string, task: () => Promise<T>): Promise<T> {
    const next = (this.chains.get(key) ?? Promise.resolve()).then(task, task);
    const settled = next.then(noop, noop);
    this.chains.set(key, settled);
    void settled.then(() => {
      if (this.chains.get(key) === settled) this.chains.delete(key);
    });
    return next;
  }
}

const noop = () => {};

/** A full TelemetryRun from what the caller gave: a new UUID event_id, a run_id, start_time now (with Z), status running, this host. */
export function completeRun(input: StartRunInput): NewRun {
  const event_id = input.event_id ?? randomUUID();
  const start_time = input.start_time ?? new Date().toISOString();
  return {
    status: "running",
    host: hostname(),
    ...input,
    event_id,
    start_time,
    run_id: input.run_id ?? `${start_time}-${input.agent_name}-${event_id.slice(0, 8)}`,
  };
}

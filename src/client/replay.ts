import { describeDetail, rejectedIndexes, TelemetryError } from "./errors.ts";
import type { HttpTransport } from "./http.ts";
import type { Spool, SpoolEntry } from "./spool.ts";
import type { BatchResponse, CommitAssociation, NewRun, RunUpdate } from "./types.ts";

/** A write to send after a run exists: consecutive updates are folded into one PATCH. */
export type FollowUp = { op: "update"; body: RunUpdate } | { op: "associate"; body: CommitAssociation };

/** A run whose POST is in the spool: sent through the batch endpoint already carrying every later update. */
export interface PlannedRun {
  run: NewRun;
  /** Its later writes, re-sent only if the server already had the run (a duplicate keeps the stored copy). */
  after: FollowUp[];
  entries: SpoolEntry[];
}

/** Writes for a run the server already has (its POST went through before the outage). */
export interface PlannedFollowUps {
  event_id: string;
  ops: FollowUp[];
  entries: SpoolEntry[];
}

export interface ReplayPlan {
  creates: PlannedRun[];
  followUps: PlannedFollowUps[];
}

/** Folds spooled entries, in order, into batchable runs and the follow-ups of runs created earlier. */
export function planReplay(entries: readonly SpoolEntry[]): ReplayPlan {
  const byEvent = new Map<string, { create?: NewRun; ops: FollowUp[]; entries: SpoolEntry[] }>();
  for (const entry of entries) {
    let slot = byEvent.get(entry.event_id);
    if (!slot) byEvent.set(entry.event_id, (slot = { ops: [], entries: [] }));
    slot.entries.push(entry);
    if (entry.op === "create") {
      slot.create ??= { ...entry.body }; // the first copy wins, as on the server
      continue;
    }
    const last = slot.ops.at(-1);
    if (entry.op === "update" && last?.op === "update") last.body = { ...last.body, ...defined(entry.body) };
    else slot.ops.push(entry.op === "update" ? { op: "update", body: defined(entry.body) } : { op: "associate", body: entry.body });
  }
  const plan: ReplayPlan = { creates: [], followUps: [] };
  for (const [event_id, slot] of byEvent) {
    if (slot.create) plan.creates.push({ run: slot.ops.reduce(applyFollowUp, slot.create), after: slot.ops, entries: slot.entries });
    else plan.followUps.push({ event_id, ops: slot.ops, entries: slot.entries });
  }
  return plan;
}

function applyFollowUp(run: NewRun, op: FollowUp): NewRun {
  if (op.op === "update") return { ...run, ...op.body };
  const { commit_hash, commit_source, commit_author, commit_timestamp } = op.body;
  return {
    ...run,
    git_commit_hash: commit_hash,
    git_commit_source: commit_source,
    // One commit: an author or time left out clears the earlier commit's (undefined is left out of the POST).
    git_commit_author: commit_author ?? undefined,
    git_commit_timestamp: commit_timestamp ?? undefined,
  };
}

/** The fields that count: the server ignores nulls in a PATCH, so a null must not erase an earlier value. */
function defined<T extends object>(body: T): T {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null && value !== undefined)) as T;
}

const MAX_BATCH_ITEMS = 500;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export interface ReplayOutcome {
  /** Spool entries the server now has. */
  delivered: number;
  /** Entries the server refused for good (kept in rejected.ndjson). */
  rejected: number;
  /** Set when replay stopped early; everything not delivered stays spooled. */
  error?: TelemetryError;
}

/**
 * Sends a plan: runs through POST /runs/batch in spool order, then follow-ups one by one. Idempotent: a run the
 * server already has is counted as a duplicate, and then its follow-ups are sent too, setting the same values again.
 */
export async function executeReplay(plan: ReplayPlan, http: HttpTransport, spool: Spool, report: (error: TelemetryError) => void): Promise<ReplayOutcome> {
  const outcome: ReplayOutcome = { delivered: 0, rejected: 0 };
  const reject = (entries: SpoolEntry[], error: TelemetryError) => {
    for (const entry of entries) spool.reject(entry, error.message);
    outcome.rejected += entries.length;
    report(error);
  };

  for (let chunk of chunks(plan.creates)) {
    for (;;) {
      const sent = await http.request<BatchResponse>("POST", "/api/v1/runs/batch", chunk.map((item) => item.run));
      if (sent.ok) {
        for (const item of chunk) {
          // A duplicate means the server had the run before (say its POST landed but the answer was lost): it kept
          // that copy, so the later writes folded into ours must be sent again. Which items were duplicates the batch
          // answer does not say; resending to all is harmless.
          const failed = sent.body.duplicates > 0 ? await sendFollowUps(item.run.event_id, item.after, http) : undefined;
          if (failed?.transient) return { ...outcome, error: failed };
          const refused = failed ? item.entries.filter((entry) => entry.op !== "create") : [];
          if (failed) reject(refused, failed);
          outcome.delivered += item.entries.length - refused.length;
        }
        break;
      }
      if (sent.error.status !== 422) return { ...outcome, error: sent.error };
      const bad = new Set(rejectedIndexes(sent.error.body));
      if (bad.size === 0) bad.add(0);
      for (const index of bad) {
        const item = chunk[index];
        if (!item) continue;
        const message = `spooled run ${item.run.event_id} was rejected with 422: ${describeDetail(sent.error.body, index)} (kept in ${spool.dir}/rejected.ndjson)`;
        reject(item.entries, new TelemetryError("rejected", message, { method: "POST", path: "/api/v1/runs/batch", status: 422, body: sent.error.body, attempts: 1 }));
      }
      chunk = chunk.filter((_, index) => !bad.has(index));
      if (chunk.length === 0) break;
    }
  }

  for (const item of plan.followUps) {
    const failed = await sendFollowUps(item.event_id, item.ops, http);
    if (failed?.transient) return { ...outcome, error: failed };
    if (failed) reject(item.entries, failed);
    else outcome.delivered += item.entries.length;
  }
  return outcome;
}

/** Sends a run's follow-ups in order; the first failure, if any. */
async function sendFollowUps(eventId: string, ops: readonly FollowUp[], http: HttpTransport): Promise<TelemetryError | undefined> {
  const path = `/api/v1/runs/${encodeURIComponent(eventId)}`;
  for (const op of ops) {
    const sent = op.op === "update" ? await http.request("PATCH", path, op.body) : await http.request("POST", `${path}/associate-commit`, op.body);
    if (!sent.ok) return sent.error;
  }
  return undefined;
}

function* chunks(runs: readonly PlannedRun[]): Generator<PlannedRun[]> {
  let chunk: PlannedRun[] = [];
  let bytes = 0;
  for (const item of runs) {
    const size = JSON.stringify(item.run).length;
    if (chunk.length > 0 && (chunk.length >= MAX_BATCH_ITEMS || bytes + size > MAX_BATCH_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

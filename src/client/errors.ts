/**
 * Why a telemetry call did not land:
 * - `rejected`: the server answered 4xx (validation, auth, unknown run); retrying cannot help, so it is reported once.
 * - `unreachable`: no HTTP answer (connection refused, DNS, timeout) after every retry.
 * - `server`: 5xx or 429 after every retry, or a Retry-After longer than the client may wait.
 * - `spool`: the local spool could not take the event (full, or the disk refused it).
 */
export type FailureKind = "rejected" | "unreachable" | "server" | "spool";

export interface FailureInfo {
  method: string;
  path: string;
  status?: number;
  /** The response body, parsed when it was JSON. */
  body?: unknown;
  attempts: number;
  /** True when the event went to the local spool and will be replayed. */
  spooled?: boolean;
  cause?: unknown;
}

export class TelemetryError extends Error {
  override name = "TelemetryError";
  readonly kind: FailureKind;
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly body: unknown;
  readonly attempts: number;
  spooled: boolean;

  constructor(kind: FailureKind, message: string, info: FailureInfo) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.kind = kind;
    this.method = info.method;
    this.path = info.path;
    this.status = info.status;
    this.body = info.body;
    this.attempts = info.attempts;
    this.spooled = info.spooled ?? false;
  }

  /** A transient failure: the event is worth keeping for later. */
  get transient(): boolean {
    return this.kind === "unreachable" || this.kind === "server";
  }
}

interface ValidationItem {
  loc?: unknown[];
  msg?: string;
}

/**
 * One readable line from an error body: `{"detail":"..."}` as is, 422 items as `field: message; ...`.
 * With `batchIndex`, only the items about that element of a batch body, named without the index.
 */
export function describeDetail(body: unknown, batchIndex?: number): string {
  let detail = body !== null && typeof body === "object" ? (body as { detail?: unknown }).detail : body;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    if (batchIndex !== undefined) detail = (detail as ValidationItem[]).filter((item) => item.loc?.[1] === batchIndex);
    const all = detail as ValidationItem[];
    const items = all.slice(0, 5).map((item) => {
      const loc = batchIndex === undefined ? item.loc : item.loc?.slice(2);
      const where = (loc ?? []).filter((part) => part !== "body").join(".");
      return where ? `${where}: ${item.msg ?? "invalid"}` : (item.msg ?? "invalid");
    });
    return items.join("; ") + (all.length > 5 ? `; and ${all.length - 5} more` : "");
  }
  return detail === undefined ? "" : JSON.stringify(detail).slice(0, 500);
}

/** Batch item indexes named by a 422 body (`loc: ["body", 3, "start_time"]`). */
export function rejectedIndexes(body: unknown): number[] {
  const detail = body !== null && typeof body === "object" ? (body as { detail?: unknown }).detail : undefined;
  if (!Array.isArray(detail)) return [];
  const indexes = (detail as ValidationItem[]).map((item) => item.loc?.[1]).filter((i): i is number => Number.isInteger(i));
  return [...new Set(indexes)];
}

/** The default reporter: one line on stderr, never a stack trace. */
export function reportToStderr(error: TelemetryError): void {
  process.stderr.write(`local-telemetry-api client: ${error.message}\n`);
}

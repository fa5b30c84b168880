// The agent SDK: `import { TelemetryClient } from "local-telemetry-api/client"`. No runtime dependencies;
// runs on Bun and on Node 20+ (fetch and node: built-ins only).
export { TelemetryClient, completeRun } from "./client.ts";
export type { FlushResult, Run, StartedRun, TelemetryClientOptions, WriteResult } from "./client.ts";
export { TelemetryError, describeDetail } from "./errors.ts";
export type { FailureKind } from "./errors.ts";
export { backoffDelay, isRetryableStatus, parseRetryAfter } from "./http.ts";
export { DEFAULT_SPOOL_MAX_BYTES, Spool, SpoolError, defaultSpoolDir } from "./spool.ts";
export type { SpoolEntry } from "./spool.ts";
export { clip, describeFailure, track } from "./track.ts";
export { gitInfo } from "./git.ts";
export type { GitInfo } from "./git.ts";
export type * from "./types.ts";

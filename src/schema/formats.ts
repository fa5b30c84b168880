import { FormatRegistry } from "@sinclair/typebox";
import { parseZonedTimestamp } from "../domain/timestamps.ts";
import { normalizeStatus } from "../domain/statuses.ts";

/**
 * Custom string formats: the rules live in domain/, TypeBox only needs a yes/no.
 * Each format also carries the message a client sees when it fails (see validation.ts).
 */
export const Formats = {
  zonedDateTime: "date-time-with-zone",
  runStatus: "run-status",
  commitHash: "commit-hash",
  eventId: "event-id",
} as const;

const COMMIT_HASH = /^(?:[0-9a-fA-F]{7,40}|[0-9a-fA-F]{64})$/;

FormatRegistry.Set(Formats.zonedDateTime, (value) => parseZonedTimestamp(value).ok);
FormatRegistry.Set(Formats.runStatus, (value) => normalizeStatus(value) !== null);
FormatRegistry.Set(Formats.commitHash, (value) => COMMIT_HASH.test(value));
// URL parsers resolve "." and ".." path segments away, so such an id could never be fetched or updated.
FormatRegistry.Set(Formats.eventId, (value) => value !== "." && value !== "..");

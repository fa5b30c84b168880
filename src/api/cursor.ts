import type { RunPosition } from "../store/run-store.ts";

// A cursor is the position of the last run of a page: "1:<created_at_us or n>:<id>", base64url-encoded. Opaque
// to clients (the version prefix lets the format change); only what this module writes is accepted back.
const TEXT = /^1:(n|-?\d{1,19}):(\d{1,16})$/;
const INT64_MAX = 2n ** 63n - 1n;

export function encodeCursor(position: RunPosition): string {
  return Buffer.from(`1:${position.createdAtUs ?? "n"}:${position.id}`).toString("base64url");
}

/** The position, or null for anything encodeCursor could not have produced. */
export function decodeCursor(cursor: string): RunPosition | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return null;
  const text = Buffer.from(cursor, "base64url").toString("latin1");
  const match = TEXT.exec(text);
  if (!match) return null;
  const position = { createdAtUs: match[1] === "n" ? null : BigInt(match[1]!), id: Number(match[2]) };
  const created = position.createdAtUs;
  if (created !== null && (created > INT64_MAX || created < -INT64_MAX - 1n)) return null;
  // Only the canonical spelling: no leading zeros, "-0", or base64 variants of the same position.
  return Number.isSafeInteger(position.id) && encodeCursor(position) === cursor ? position : null;
}

import type { StoreOptions } from "./connection.ts";
import type { StoreFailureKind } from "./errors.ts";
import type { WriteOp } from "./run-writer.ts";

/** Messages between the server thread and the writer thread. */
export type ToWriter = { type: "open"; options: StoreOptions; identity: string | null } | { type: "op"; id: number; op: WriteOp } | { type: "close" };
export type FromWriter =
  | { type: "result"; id: number; ok: true; value: unknown }
  // `cause` is SQLite's own error text: for the server's log only, never for a client.
  | { type: "result"; id: number; ok: false; kind: StoreFailureKind; message: string; cause?: string }
  | { type: "group"; size: number }
  | { type: "closed" }
  | { type: "fatal"; message: string };

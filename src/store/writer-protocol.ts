import type { StoreOptions } from "./connection.ts";
import type { StoreFailureKind } from "./errors.ts";
import type { WriteOp } from "./run-writer.ts";

/** Messages between the server thread and the writer thread. */
export type ToWriter = { type: "open"; options: StoreOptions; identity: string | null } | { type: "op"; id: number; op: WriteOp } | { type: "close" };
export type FromWriter =
  | { type: "result"; id: number; ok: true; value: unknown }
  | { type: "result"; id: number; ok: false; kind: StoreFailureKind; message: string }
  | { type: "group"; size: number }
  | { type: "closed" }
  | { type: "fatal"; message: string };

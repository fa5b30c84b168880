// A backup thread: VACUUM INTO reads the whole database, which takes seconds on a large one; on its own
// thread (and connection) it stalls neither the requests on the server thread nor the writer thread.
import { backupDatabase, MaintenanceError } from "./maintenance.ts";

declare const self: Worker;

export type BackupRequest = { source: string; out: string; busyTimeoutMs: number };
export type BackupReply = { ok: true; runs: number; bytes: number } | { ok: false; message: string };

self.onmessage = (event: MessageEvent<BackupRequest>) => {
  const { source, out, busyTimeoutMs } = event.data;
  let reply: BackupReply;
  try {
    const result = backupDatabase(source, out, busyTimeoutMs);
    reply = { ok: true, runs: result.runs, bytes: result.bytes };
  } catch (error) {
    reply = { ok: false, message: error instanceof MaintenanceError ? error.message : `backup failed: ${String(error)}` };
  }
  self.postMessage(reply);
};

import { Database } from "bun:sqlite";
import { statSync } from "node:fs";

export interface StoreOptions {
  path: string;
  journalMode: string;
  synchronous: string;
  busyTimeoutMs: number;
}

/** device:inode of the database file, or null for an in-memory database; "missing" once the path is gone. */
export function fileIdentity(path: string): string | null {
  if (path === ":memory:") return null;
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return "missing";
  }
}

/**
 * Opens a connection with the settings every connection of ours uses. The journal mode belongs to the
 * database file, so only the first connection (`role: "owner"`) sets it: switching it takes a lock that
 * would make other processes' first reads fail.
 */
export function openConnection(options: StoreOptions, role: "owner" | "writer"): Database {
  // Only the owner may create the file: a writer that finds it gone must fail, not start an empty database.
  const db = new Database(options.path, { create: role === "owner", readwrite: true, strict: true });
  try {
    db.run(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
    if (role === "owner") {
      // A brand-new file can still choose how it gives space back: retention deletes then shrink it
      // (PRAGMA incremental_vacuum). An existing file keeps its setting; changing it takes a full VACUUM.
      if (db.query<{ page_count: number }, []>("PRAGMA page_count").get()!.page_count === 0) db.run("PRAGMA auto_vacuum = INCREMENTAL");
      db.run(`PRAGMA journal_mode = ${options.journalMode}`);
    }
    db.run(`PRAGMA synchronous = ${options.synchronous}`);
    // Keeps the WAL from growing without bound once readers let go of old snapshots.
    db.run("PRAGMA journal_size_limit = 67108864");
    // Statement journals and sorts in memory, and a page cache that holds the hot index pages of a few million rows.
    db.run("PRAGMA temp_store = MEMORY");
    db.run("PRAGMA cache_size = -32768");
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

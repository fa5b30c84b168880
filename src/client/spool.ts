import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { CommitAssociation, NewRun, RunUpdate } from "./types.ts";

/** One write the API could not take yet, in the order the agent made it. */
export type SpoolEntry =
  | { op: "create"; event_id: string; body: NewRun }
  | { op: "update"; event_id: string; body: RunUpdate }
  | { op: "associate"; event_id: string; body: CommitAssociation };

export const DEFAULT_SPOOL_MAX_BYTES = 64 * 1024 * 1024;

/** $TELEMETRY_SPOOL_DIR, else $XDG_STATE_HOME/local-telemetry-api/spool, else ~/.local/state/local-telemetry-api/spool. */
export function defaultSpoolDir(env: Record<string, string | undefined>): string {
  if (env.TELEMETRY_SPOOL_DIR) return env.TELEMETRY_SPOOL_DIR;
  const state = env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  return join(state, "local-telemetry-api", "spool");
}

export class SpoolError extends Error {
  override name = "SpoolError";
}

const CURRENT = "spool.ndjson";
const CLAIMED = /^claimed-\d+-\d+-\d+\.ndjson$/;
const LOCK = "replay.lock";
const REJECTED = "rejected.ndjson";
/** A lock older than this is taken over even if its pid looks alive (the pid may have been reused). */
const STALE_LOCK_MS = 10 * 60 * 1000;

let claimCounter = 0;

/**
 * An append-only NDJSON spool in one directory, shared safely by every process that uses it.
 * Writers append whole lines to `spool.ndjson` and fsync. A replayer takes `replay.lock`, renames
 * `spool.ndjson` to a `claimed-*` file (new writers start a fresh file) and deletes claimed files only
 * once the server has them all. A writer whose file was renamed under it while it wrote appends its line
 * again to the new file, so a line is never lost; the copy is harmless because replay is idempotent.
 */
export class Spool {
  /** Event ids per pending file, read incrementally: files only grow until renamed or removed. */
  private readonly index = new Map<string, { ino: number; size: number; ids: Set<string> }>();

  constructor(readonly dir: string, readonly maxBytes = DEFAULT_SPOOL_MAX_BYTES) {}

  get path(): string {
    return join(this.dir, CURRENT);
  }

  /** Appends one entry durably (fsynced before returning); throws SpoolError when full or when the disk refuses. */
  append(entry: SpoolEntry): void {
    let line: string;
    try {
      line = JSON.stringify({ v: 1, ...entry, spooled_at: new Date().toISOString() }) + "\n";
    } catch (error) {
      throw new SpoolError(`cannot spool ${entry.op} of ${entry.event_id}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (this.pendingBytes() + Buffer.byteLength(line) > this.maxBytes) {
      throw new SpoolError(`spool ${this.dir} is full (${this.maxBytes} bytes); ${entry.op} of ${entry.event_id} dropped`);
    }
    try {
      mkdirSync(this.dir, { recursive: true });
      while (!appendLine(this.path, line)) {
        // The file was claimed by a replayer between our open and our write: write the line to the new file too.
      }
    } catch (error) {
      throw new SpoolError(`cannot write to spool ${this.path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Bytes waiting to be replayed, in the current file and in claimed ones. */
  pendingBytes(): number {
    return this.pendingFiles().reduce((sum, file) => sum + sizeOf(file), 0);
  }

  isEmpty(): boolean {
    return this.pendingBytes() === 0;
  }

  /** Whether any waiting entry concerns this run (then its later writes must queue behind it). */
  holds(eventId: string): boolean {
    const files = this.pendingFiles();
    for (const known of this.index.keys()) if (!files.includes(known)) this.index.delete(known);
    return files.some((file) => this.idsIn(file).has(eventId));
  }

  /** The event ids in a file, parsing only the whole lines appended since the last look. */
  private idsIn(file: string): Set<string> {
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch {
      return new Set();
    }
    try {
      const { ino, size } = fstatSync(fd);
      let known = this.index.get(file);
      if (!known || known.ino !== ino || known.size > size) this.index.set(file, (known = { ino, size: 0, ids: new Set() }));
      if (size > known.size) {
        const fresh = Buffer.alloc(size - known.size);
        const read = readSync(fd, fresh, 0, fresh.length, known.size);
        const whole = fresh.subarray(0, fresh.subarray(0, read).lastIndexOf(0x0a) + 1);
        for (const entry of parseEntries(whole.toString("utf8"))) known.ids.add(entry.event_id);
        known.size += whole.length;
      }
      return known.ids;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Takes the replay lock and everything spooled so far, oldest first; null if another replayer holds the lock
   * or nothing waits. Call `done()` once the server has every entry, `release()` to keep them for next time.
   */
  claim(): Claim | null {
    if (this.isEmpty() || !this.lock()) return null;
    try {
      if (sizeOf(this.path) > 0) {
        const name = `claimed-${String(Date.now()).padStart(15, "0")}-${process.pid}-${++claimCounter}.ndjson`;
        renameSync(this.path, join(this.dir, name));
        syncDir(this.dir);
      }
    } catch (error) {
      this.unlock();
      throw error;
    }
    const files = this.claimedFiles();
    const entries = files.flatMap(readEntries);
    return {
      entries,
      done: () => {
        for (const file of files) unlinkSync(file);
        syncDir(this.dir);
        this.unlock();
      },
      release: () => this.unlock(),
    };
  }

  /** Keeps entries the server refused for good in `rejected.ndjson` (size-capped too), for a human to read. */
  reject(entry: SpoolEntry, reason: string): void {
    const line = JSON.stringify({ v: 1, ...entry, rejected_at: new Date().toISOString(), reason }) + "\n";
    const file = join(this.dir, REJECTED);
    if (sizeOf(file) + Buffer.byteLength(line) > this.maxBytes) return;
    appendLine(file, line);
  }

  private claimedFiles(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.filter((name) => CLAIMED.test(name)).sort().map((name) => join(this.dir, name));
  }

  private pendingFiles(): string[] {
    return [...this.claimedFiles(), this.path];
  }

  private lock(): boolean {
    const file = join(this.dir, LOCK);
    for (let tries = 0; tries < 2; tries++) {
      try {
        const fd = openSync(file, "wx");
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST" || !lockIsStale(file)) return false;
        try {
          unlinkSync(file);
        } catch {
          return false;
        }
      }
    }
    return false;
  }

  private unlock(): void {
    try {
      unlinkSync(join(this.dir, LOCK));
    } catch {
      // Already gone: nothing to release.
    }
  }
}

export interface Claim {
  entries: SpoolEntry[];
  done(): void;
  release(): void;
}

/** Appends and fsyncs; false when the path no longer names the file written to (a replayer claimed it meanwhile). */
function appendLine(path: string, line: string): boolean {
  const fd = openSync(path, "a+", 0o600);
  try {
    const { size } = fstatSync(fd);
    const last = Buffer.alloc(1);
    // After a crash mid-write the file ends in half a line: end it, so this line is not glued to it and lost.
    const torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
    writeSync(fd, torn ? `\n${line}` : line);
    fsyncSync(fd);
    if (size === 0) syncDir(dirname(path));
    return statSync(path, { throwIfNoEntry: false })?.ino === fstatSync(fd).ino;
  } finally {
    closeSync(fd);
  }
}

/** Every well-formed entry of a file; a torn last line (a crash mid-write) is skipped. */
function readEntries(path: string): SpoolEntry[] {
  return parseEntries(readText(path));
}

function parseEntries(text: string): SpoolEntry[] {
  const entries: SpoolEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const { op, event_id, body } = JSON.parse(line) as SpoolEntry;
      if ((op === "create" || op === "update" || op === "associate") && typeof event_id === "string" && body && typeof body === "object") {
        entries.push({ op, event_id, body } as SpoolEntry);
      }
    } catch {
      // Not a whole line: skipped.
    }
  }
  return entries;
}

/** A file's text; "" when it is gone (a replayer finished with it meanwhile). */
function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // missing, or its folder unusable (append then says why)
  }
}

function lockIsStale(file: string): boolean {
  try {
    const pid = Number(readFileSync(file, "utf8"));
    if (Date.now() - statSync(file).mtimeMs > STALE_LOCK_MS) return true;
    if (!Number.isInteger(pid) || pid <= 0) return true;
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH" || (error as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/** Makes a file's creation, rename or removal durable; best effort where a directory cannot be fsynced. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on a directory.
  }
}

import { dlopen, FFIType } from "bun:ffi";
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";

const LOCK_EX = 2;
const LOCK_NB = 4;

let libc: { flock: (fd: number, operation: number) => number } | undefined;
function flock(fd: number, operation: number): number {
  libc ??= dlopen(process.platform === "darwin" ? "libc.dylib" : "libc.so.6", {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  }).symbols;
  return libc.flock(fd, operation);
}

export class LockHeldError extends Error {
  override name = "LockHeldError";
}

/**
 * One writer per database: an exclusive flock on `<db>.lock`, which the kernel releases when the process
 * exits or crashes, so a stale lock never blocks a restart. The file names its holder for the error message.
 */
export function acquireDatabaseLock(dbPath: string): { release(): void } {
  const lockPath = `${dbPath}.lock`;
  const fd = openSync(lockPath, "a+");
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const holder = readFileSync(lockPath, "utf8").trim() || "another process";
    closeSync(fd);
    throw new LockHeldError(`database ${dbPath} is already in use by ${holder} (lock file ${lockPath})`);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}\n`);
  return {
    release() {
      ftruncateSync(fd, 0);
      closeSync(fd);
    },
  };
}

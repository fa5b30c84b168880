import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TelemetryError } from "../../src/client/errors.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const ROOT = join(import.meta.dir, "..", "..");
export const MAIN = join(ROOT, "src", "main.ts");

const dirs: string[] = [];
/** A fresh temp folder, removed by `removeTempDirs` (call it in afterAll). */
export function tempDir(prefix = "telemetry-client-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A real server for the file's tests: `ready` gets it before they run; it stops, and temp folders go, after. */
export function useServer(ready: (server: TestServer) => void): void {
  let server: TestServer | undefined;
  beforeAll(async () => ready((server = await startTestServer())));
  afterAll(async () => {
    await server?.close();
    removeTempDirs();
  });
}

/** A TCP port nothing listens on right now (the kernel picked it, then we let go). */
export function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

/** Client options for tests: fast retries, a private spool, failures collected instead of printed. */
export function testOptions(spoolDir: string, errors: TelemetryError[] = []) {
  return { spoolDir, baseDelayMs: 1, maxDelayMs: 2000, timeoutMs: 5000, onError: (e: TelemetryError) => void errors.push(e) };
}

export interface Finished {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/** Runs a command to the end without blocking this process (the test server lives in it). */
export async function runProcess(cmd: string[], options: { cwd?: string; env?: Record<string, string>; stdin?: Uint8Array | string } = {}): Promise<Finished> {
  const child = Bun.spawn(cmd, {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmpdir(), ...options.env },
    stdin: options.stdin === undefined ? "ignore" : typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).bytes(),
    new Response(child.stderr).bytes(),
    child.exited,
  ]);
  return { exitCode, stdout, stderr };
}

export const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

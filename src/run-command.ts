import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { basename } from "node:path";
import { TelemetryClient } from "./client/client.ts";
import { gitInfo } from "./client/git.ts";
import { clip } from "./client/track.ts";
import type { RunStatus, RunUpdate } from "./client/types.ts";

export const RUN_USAGE = `Usage: local-telemetry-api run --agent NAME --job TYPE [--url URL] [--token T] [--timeout SECONDS] -- CMD [ARGS...]
Runs CMD with stdin, stdout and stderr passed through, records it as a run and exits with CMD's exit code.
--url defaults to $TELEMETRY_API_URL (else http://localhost:8765), --token to $TELEMETRY_API_AUTH_TOKEN;
runs the server cannot take are spooled in $TELEMETRY_SPOOL_DIR and replayed later.
`;

interface RunOptions {
  agent: string;
  job: string;
  url?: string;
  token?: string;
  timeoutMs?: number;
  command: string[];
}

/** Stderr bytes kept for error_summary (its last lines) and error_details. */
const TAIL_BYTES = 64 * 1024;
const SUMMARY_LINES = 10;
const SUMMARY_CHARS = 1000;
const DETAILS_CHARS = 16 * 1024;
/** After a timeout's SIGTERM, how long the command gets before SIGKILL. */
const KILL_GRACE_MS = 5000;
/** After the command exits, how long a background child may keep its stderr open before we stop waiting. */
const STDERR_GRACE_MS = 500;
const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * `local-telemetry-api run ...`: the command's own exit code (128 + n when a signal ended it; 127 when it could
 * not be started; 2 for a usage error). Telemetry problems are reported on stderr and never change it.
 */
export async function runCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let options: RunOptions;
  try {
    options = parseRunArgs(argv);
  } catch (error) {
    process.stderr.write(`local-telemetry-api run: ${(error as Error).message}\n${RUN_USAGE}`);
    return 2;
  }
  if (options.command.length === 0) {
    process.stdout.write(RUN_USAGE);
    return 0;
  }
  // From the start: a signal that arrives while we look at git must cancel the run, not kill us unrecorded.
  const relay = new SignalRelay();
  const client = new TelemetryClient({ env, timeoutMs: 5000, ...(options.url && { url: options.url }), ...(options.token && { token: options.token }) });
  const [program, ...args] = options.command as [string, ...string[]];
  const cwd = process.cwd();
  const start_time = new Date().toISOString();
  const git = await gitInfo(cwd);
  const { run } = client.beginRun({
    agent_name: options.agent,
    job_type: options.job,
    start_time,
    trigger_type: "cli",
    context_json: { command: basename(program), cwd },
    ...git,
  });

  const result = await supervise(program, args, options.timeoutMs, relay);
  await client.endRun(run, endFields(result, options.timeoutMs));
  await new Promise<void>((resolve) => process.stderr.write("", () => resolve()));
  return result.exitCode;
}

export function parseRunArgs(argv: readonly string[]): RunOptions {
  const values: Record<string, string> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("--")) break;
    if (arg === "--help") return { agent: "", job: "", command: [] };
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!["agent", "job", "url", "token", "timeout"].includes(name)) throw new Error(`unknown option '${arg}'`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`option '--${name}' needs a value`);
    values[name] = value;
  }
  const command = argv.slice(i);
  if (!values.agent) throw new Error("--agent NAME is required");
  if (!values.job) throw new Error("--job TYPE is required");
  if (command.length === 0) throw new Error("no command given (put it after --)");
  const options: RunOptions = { agent: values.agent, job: values.job, command };
  if (values.url) options.url = values.url;
  if (values.token) options.token = values.token;
  if (values.timeout !== undefined) {
    const seconds = Number(values.timeout);
    if (!(seconds > 0) || !Number.isFinite(seconds)) throw new Error(`--timeout must be a positive number of seconds, not '${values.timeout}'`);
    options.timeoutMs = seconds * 1000;
  }
  return options;
}

interface Outcome {
  exitCode: number;
  signal: string | null;
  /** Why we ended it: a signal we forwarded, or our timeout. */
  cancelledBy: string | null;
  timedOut: boolean;
  spawnError: string | null;
  stderrTail: string;
}

/** Our SIGINT, SIGTERM and SIGHUP, caught from the moment it exists and passed on to the command once it runs. */
class SignalRelay {
  received: NodeJS.Signals | null = null;
  private child: ChildProcess | null = null;
  private readonly relay = (signal: NodeJS.Signals) => {
    this.received ??= signal;
    this.child?.kill(signal);
  };

  constructor() {
    for (const signal of FORWARDED_SIGNALS) process.on(signal, this.relay);
  }

  attach(child: ChildProcess): void {
    this.child = child;
  }

  dispose(): void {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, this.relay);
  }
}

/** Runs the command with stdio passed through (stderr via a pipe, copied byte for byte), relaying our signals. */
function supervise(program: string, args: string[], timeoutMs: number | undefined, relay: SignalRelay): Promise<Outcome> {
  return new Promise((resolve) => {
    const cancelled = relay.received;
    if (cancelled) {
      // Cancelled before it started: it never runs.
      relay.dispose();
      return resolve({ exitCode: 128 + constants.signals[cancelled], signal: null, cancelledBy: cancelled, timedOut: false, spawnError: null, stderrTail: "" });
    }
    const child = spawn(program, args, { stdio: ["inherit", "inherit", "pipe"] });
    relay.attach(child);
    const tail = new ByteTail(TAIL_BYTES);
    let timedOut = false;
    let spawnError: string | null = null;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const timeout = timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
    }, timeoutMs);

    const stderr = child.stderr!;
    // If our own stderr goes away, keep draining the command's, so it never blocks on a full pipe.
    let stderrGone = false;
    const onStderrError = () => {
      stderrGone = true;
      stderr.resume();
    };
    process.stderr.on("error", onStderrError);
    stderr.on("data", (chunk: Buffer) => {
      tail.push(chunk);
      if (!stderrGone && !process.stderr.write(chunk)) {
        stderr.pause();
        process.stderr.once("drain", () => stderr.resume());
      }
    });
    const stderrClosed = new Promise<void>((done) => stderr.once("close", done));

    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      relay.dispose();
      clearTimeout(timeout);
      clearTimeout(killTimer);
      const exitCode = spawnError !== null ? (code ?? 127) : (code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
      void Promise.race([stderrClosed, new Promise((r) => setTimeout(r, STDERR_GRACE_MS))]).then(() =>
        resolve({ exitCode, signal, cancelledBy: relay.received, timedOut, spawnError, stderrTail: tail.text() }),
      );
    };
    child.once("error", (error: NodeJS.ErrnoException) => {
      spawnError = error.message;
      finish(error.code === "EACCES" ? 126 : 127, null);
    });
    child.once("exit", finish);
  });
}

/** The PATCH that ends the run: status from how the command ended, exit code in metrics_json, stderr's last lines on failure. */
export function endFields(outcome: Outcome, timeoutMs?: number): RunUpdate {
  const status: RunStatus = outcome.timedOut ? "timeout" : outcome.cancelledBy ? "cancelled" : outcome.exitCode === 0 && !outcome.spawnError ? "success" : "failure";
  const metrics: Record<string, unknown> = { exit_code: outcome.exitCode };
  if (outcome.signal) metrics.signal = outcome.signal;
  if (outcome.cancelledBy) metrics.cancelled_by = outcome.cancelledBy;
  if (outcome.timedOut && timeoutMs !== undefined) metrics.timeout_s = timeoutMs / 1000;
  const fields: RunUpdate = { status, metrics_json: metrics };
  if (status === "success") return fields;

  const how = outcome.spawnError
    ? `could not start: ${outcome.spawnError}`
    : outcome.timedOut
      ? `timed out after ${timeoutMs! / 1000} s`
      : outcome.cancelledBy
        ? `cancelled by ${outcome.cancelledBy}`
        : outcome.signal
          ? `killed by ${outcome.signal}`
          : `exit code ${outcome.exitCode}`;
  const lines = readable(outcome.stderrTail).replace(/\s+$/, "").split("\n");
  const last = lines.slice(-SUMMARY_LINES).join("\n");
  fields.error_summary = last ? clip(last, SUMMARY_CHARS, "end") : how;
  fields.error_details = outcome.stderrTail ? `${how}; last lines of stderr:\n${clip(readable(outcome.stderrTail), DETAILS_CHARS, "end")}` : how;
  return fields;
}

/** Terminal output as plain lines: colour and cursor escapes removed, \r as a line break, other controls as U+FFFD. */
function readable(text: string): string {
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "")
    .replace(/\r\n?/g, "\n")
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "\ufffd");
}

/** The last `max` bytes written to it. */
class ByteTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.max) this.size -= this.chunks.shift()!.length;
  }

  /** As text: invalid UTF-8 (binary output, a character cut at the start) becomes U+FFFD. */
  text(): string {
    const bytes = Buffer.concat(this.chunks);
    return new TextDecoder().decode(bytes.subarray(Math.max(0, bytes.length - this.max)));
  }
}

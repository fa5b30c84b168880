// `backup` and `prune`: the maintenance subcommands. Each returns its exit code: 0 done, 1 failed at run
// time, 2 unusable arguments or settings (one line on stderr, like the server's own configuration errors).
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError, loadConfig, type Config } from "./config.ts";
import { DURATION_HINT, parseDuration } from "./domain/durations.ts";
import { formatMicrosUtc } from "./domain/timestamps.ts";
import { pruneRuns, systemClock } from "./jobs.ts";
import { acquireDatabaseLock, LockHeldError } from "./process-lock.ts";
import { backupDatabase, countRunsCreatedBefore, MaintenanceError, type SpaceReport } from "./store/maintenance.ts";
import { RunStore } from "./store/run-store.ts";

type Env = Record<string, string | undefined>;
type Output = { out: (line: string) => void; err: (line: string) => void };

const STDIO: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`local-telemetry-api: ${line}\n`),
};

interface Parsed {
  values: Map<string, string>;
  switches: Set<string>;
  positional: string[];
}

/** `--name value`, `--name=value` for `valued`, bare `--name` for `switches`, anything else positional. */
function parseArgs(argv: readonly string[], valued: readonly string[], switches: readonly string[]): Parsed {
  const parsed: Parsed = { values: new Map(), switches: new Set(), positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (valued.includes(flag)) {
      const value = flag === arg ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === "") throw new ConfigError(`${flag} needs a value`);
      parsed.values.set(flag, value);
    } else if (switches.includes(arg)) {
      parsed.switches.add(arg);
    } else if (arg.startsWith("-") && arg !== "-") {
      throw new ConfigError(`unknown argument '${arg}' (try --help)`);
    } else {
      parsed.positional.push(arg);
    }
  }
  return parsed;
}

/** The server's own settings (environment, `--db` on top), for the database these commands work on. */
function databaseConfig(parsed: Parsed, env: Env): Config {
  const db = parsed.values.get("--db");
  const config = loadConfig(db === undefined ? [] : ["--db", db], env);
  if (!existsSync(config.dbPath)) throw new ConfigError(`no database at ${config.dbPath} (set --db or TELEMETRY_DB_PATH)`);
  return config;
}

/** Runs a command body, turning usage errors into exit 2 and anything unexpected into one line and exit 1. */
async function guarded(io: Output, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 2;
    }
    if (error instanceof MaintenanceError) {
      io.err(error.message);
      return error.kind === "integrity" ? 1 : 2;
    }
    io.err(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

/** `backup OUT [--db PATH]`: a checked, consistent copy, taken while the server keeps running (no lock taken). */
export function backupCommand(argv: readonly string[], env: Env, io: Output = STDIO): Promise<number> {
  return guarded(io, async () => {
    const parsed = parseArgs(argv, ["--db"], []);
    if (parsed.positional.length !== 1) throw new ConfigError("backup needs exactly one output file: backup OUT.sqlite [--db PATH]");
    const config = databaseConfig(parsed, env);
    const target = parsed.positional[0]!;
    const out = resolve(target);
    if (out === config.dbPath) throw new ConfigError("the backup file must not be the database itself");
    mkdirSync(dirname(out), { recursive: true });
    const result = backupDatabase(config.dbPath, out, config.busyTimeoutMs);
    io.out(`backup written: ${target} (${result.runs} runs, integrity ok)`);
    return 0;
  });
}

const MIB = 1024 * 1024;

function spaceLine(space: SpaceReport): string | null {
  const mib = (pages: number) => `${((pages * space.pageSize) / MIB).toFixed(1)} MiB`;
  if (space.freedPages > 0) return `gave ${mib(space.freedPages)} back to the file system`;
  if (space.freePages === 0) return null;
  return space.autoVacuum === "none"
    ? `${mib(space.freePages)} of free pages stay in the file and are reused by new runs (this database predates auto_vacuum; see README, "Backups and retention")`
    : `${mib(space.freePages)} of free pages stay in the file and are reused by new runs`;
}

/** `prune --older-than 30d [--dry-run] [--db PATH]`: what retention does, once; refused while the server holds the database. */
export function pruneCommand(argv: readonly string[], env: Env, io: Output = STDIO): Promise<number> {
  return guarded(io, async () => {
    const parsed = parseArgs(argv, ["--db", "--older-than"], ["--dry-run"]);
    if (parsed.positional.length > 0) throw new ConfigError(`unexpected argument '${parsed.positional[0]}' (try --help)`);
    const olderThan = parsed.values.get("--older-than");
    if (olderThan === undefined) throw new ConfigError("prune needs --older-than, for example --older-than 30d");
    const duration = parseDuration(olderThan);
    if (!duration.ok) throw new ConfigError(`--older-than ${duration.reason.startsWith("expected") ? `must be ${DURATION_HINT}` : duration.reason}, got '${olderThan}'`);
    const config = databaseConfig(parsed, env);
    const cutoff = systemClock() - duration.duration.micros;
    const what = `runs created before ${formatMicrosUtc(cutoff)} (older than ${duration.duration.text})`;

    if (parsed.switches.has("--dry-run")) {
      // Only reads, on its own read-only connection: fine while the server runs.
      io.out(`would remove ${countRunsCreatedBefore(config.dbPath, cutoff, config.busyTimeoutMs)} ${what}`);
      return 0;
    }
    let lock;
    try {
      lock = acquireDatabaseLock(config.dbPath);
    } catch (error) {
      if (!(error instanceof LockHeldError)) throw error;
      io.err(`refusing to prune: ${error.message}; stop it first, or let it prune with TELEMETRY_RETENTION_DAYS`);
      return 1;
    }
    try {
      const store = new RunStore({ path: config.dbPath, journalMode: config.journalMode, synchronous: config.synchronous, busyTimeoutMs: config.busyTimeoutMs });
      let report;
      try {
        report = await pruneRuns(store, cutoff);
      } finally {
        await store.close();
      }
      io.out(`removed ${report.deleted} ${what}`);
      const space = report.space && spaceLine(report.space);
      if (space) io.out(space);
      return 0;
    } finally {
      lock.release();
    }
  });
}

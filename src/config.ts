import { isIP } from "node:net";
import { resolve } from "node:path";
import { DURATION_HINT, days, parseDuration, type Duration } from "./domain/durations.ts";

export type LogLevel = "debug" | "info" | "warning" | "error";

/** Every setting in one typed object, read once at start-up. */
export interface Config {
  host: string;
  port: number;
  dbPath: string;
  journalMode: string;
  synchronous: string;
  busyTimeoutMs: number;
  authEnabled: boolean;
  authToken: string | null;
  rateLimitEnabled: boolean;
  rateLimitRpm: number;
  /** Upper bound on distinct client IPs the limiter remembers; memory stays bounded under a flood. */
  rateLimitMaxClients: number;
  /** Peer addresses whose X-Forwarded-For is believed; empty means the socket address is the client. */
  trustedProxies: string[];
  maxBodyBytes: number;
  maxBatchBytes: number;
  maxBatchItems: number;
  maxUrlLength: number;
  maxQueryParams: number;
  /** Milliseconds a client has to deliver a whole request body (a slow client cannot hold a request open). */
  bodyTimeoutMs: number;
  /** Origins allowed to call from a browser; empty means CORS is off, ["*"] allows any origin. */
  corsOrigins: string[];
  logLevel: LogLevel;
  /** Runs created longer ago than this are deleted by a background job; null keeps them forever. */
  retention: Duration | null;
  /** Runs still `running` this long after start_time are marked `timeout`; null leaves them alone. */
  staleRunAfter: Duration | null;
  /** Folder for scheduled backups; null means no scheduled backups. */
  backupDir: string | null;
  backupIntervalHours: number;
  /** Scheduled backups kept in backupDir; older ones are deleted. */
  backupKeep: number;
}

/** A setting that cannot be used; main prints its message as one line and exits with code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

const JOURNAL_MODES = ["DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"];
const SYNCHRONOUS_LEVELS = ["OFF", "NORMAL", "FULL", "EXTRA"];
const LOG_LEVELS = new Map<string, LogLevel>([["debug", "debug"], ["info", "info"], ["warning", "warning"], ["warn", "warning"], ["error", "error"], ["critical", "error"]]);
const FLAGS = new Map([["--host", "TELEMETRY_API_HOST"], ["--port", "TELEMETRY_API_PORT"], ["--db", "TELEMETRY_DB_PATH"]]);

/** Settings and their defaults, for --help and the README. */
export const SETTINGS: readonly [name: string, fallback: string, meaning: string][] = [
  ["TELEMETRY_API_HOST", "0.0.0.0", "address to listen on (--host)"],
  ["TELEMETRY_API_PORT", "8765", "port to listen on, 0 picks a free one (--port)"],
  ["TELEMETRY_DB_PATH", "./data/telemetry.sqlite", "SQLite database file, created with its folder (--db)"],
  ["TELEMETRY_DB_JOURNAL_MODE", "WAL", JOURNAL_MODES.join(" | ")],
  ["TELEMETRY_DB_SYNCHRONOUS", "FULL", SYNCHRONOUS_LEVELS.join(" | ")],
  ["TELEMETRY_DB_BUSY_TIMEOUT_MS", "5000", "how long a write waits for another process's lock before a 503"],
  ["TELEMETRY_API_AUTH_ENABLED", "false", "require a bearer token on write routes"],
  ["TELEMETRY_API_AUTH_TOKEN", "", "the bearer token (required when auth is enabled)"],
  ["TELEMETRY_RATE_LIMIT_ENABLED", "false", "per-client-IP token bucket"],
  ["TELEMETRY_RATE_LIMIT_RPM", "60", "requests per minute per client IP"],
  ["TELEMETRY_RATE_LIMIT_MAX_CLIENTS", "100000", "client IPs remembered by the limiter"],
  ["TELEMETRY_TRUSTED_PROXIES", "", "comma-separated proxy IPs whose X-Forwarded-For is trusted"],
  ["TELEMETRY_MAX_BODY_BYTES", "1048576", "largest single-run request body"],
  ["TELEMETRY_MAX_BATCH_BYTES", "33554432", "largest batch request body"],
  ["TELEMETRY_MAX_BATCH_ITEMS", "10000", "most runs in one batch"],
  ["TELEMETRY_MAX_URL_LENGTH", "8192", "longest request URL (414 beyond)"],
  ["TELEMETRY_MAX_QUERY_PARAMS", "100", "most query parameters (400 beyond)"],
  ["TELEMETRY_BODY_TIMEOUT_MS", "30000", "time a client has to send a whole body (408 beyond)"],
  ["TELEMETRY_CORS_ORIGINS", "", "comma-separated browser origins allowed to call the API, or *; unset = CORS off"],
  ["LOG_LEVEL", "info", "debug | info | warning | error"],
  ["TELEMETRY_RETENTION_DAYS", "", "delete runs created more than this many days ago; unset = keep forever"],
  ["TELEMETRY_STALE_RUN_AFTER", "", "mark runs still running this long after start_time as timeout (e.g. 6h); unset = off"],
  ["TELEMETRY_BACKUP_DIR", "", "folder for scheduled backups; unset = no scheduled backups"],
  ["TELEMETRY_BACKUP_INTERVAL_HOURS", "24", "hours between scheduled backups"],
  ["TELEMETRY_BACKUP_KEEP", "7", "scheduled backups kept; older ones are deleted"],
];

/** Builds the Config from command-line flags (which win) and the environment; throws ConfigError naming the bad setting. */
export function loadConfig(argv: readonly string[], env: Env): Config {
  const values: Env = { ...Object.fromEntries(SETTINGS.map(([name, fallback]) => [name, fallback])), ...definedOnly(env), ...parseFlags(argv) };
  const get = (name: string) => (values[name] ?? "").trim();

  const authEnabled = parseBoolean("TELEMETRY_API_AUTH_ENABLED", get("TELEMETRY_API_AUTH_ENABLED"));
  const authToken = get("TELEMETRY_API_AUTH_TOKEN") || null;
  if (authEnabled && !authToken) {
    throw new ConfigError("TELEMETRY_API_AUTH_ENABLED=true needs TELEMETRY_API_AUTH_TOKEN to be set to a non-empty token");
  }
  // A bearer token cannot contain whitespace, so such a token could never be presented.
  if (authToken && /\s/.test(authToken)) throw new ConfigError("TELEMETRY_API_AUTH_TOKEN must not contain whitespace");
  const trustedProxies = get("TELEMETRY_TRUSTED_PROXIES").split(",").map((s) => s.trim()).filter(Boolean);
  const notAnIp = trustedProxies.find((ip) => isIP(ip) === 0);
  if (notAnIp !== undefined) throw new ConfigError(`TELEMETRY_TRUSTED_PROXIES must list IP addresses, got '${notAnIp}'`);
  const host = get("TELEMETRY_API_HOST");
  if (!host) throw new ConfigError("TELEMETRY_API_HOST must not be empty");
  const dbPath = get("TELEMETRY_DB_PATH");
  if (!dbPath) throw new ConfigError("TELEMETRY_DB_PATH must not be empty");
  // The reader and the writer thread each open the file; an in-memory database would be two unrelated ones.
  if (dbPath === ":memory:" || dbPath.startsWith("file::memory:")) throw new ConfigError("TELEMETRY_DB_PATH must be a file, not an in-memory database");

  return {
    host,
    port: parseInteger("TELEMETRY_API_PORT", get("TELEMETRY_API_PORT"), 0, 65535),
    dbPath: resolve(dbPath),
    journalMode: parseChoice("TELEMETRY_DB_JOURNAL_MODE", get("TELEMETRY_DB_JOURNAL_MODE"), JOURNAL_MODES),
    synchronous: parseChoice("TELEMETRY_DB_SYNCHRONOUS", get("TELEMETRY_DB_SYNCHRONOUS"), SYNCHRONOUS_LEVELS),
    busyTimeoutMs: parseInteger("TELEMETRY_DB_BUSY_TIMEOUT_MS", get("TELEMETRY_DB_BUSY_TIMEOUT_MS"), 0, 600_000),
    authEnabled,
    authToken,
    rateLimitEnabled: parseBoolean("TELEMETRY_RATE_LIMIT_ENABLED", get("TELEMETRY_RATE_LIMIT_ENABLED")),
    rateLimitRpm: parseInteger("TELEMETRY_RATE_LIMIT_RPM", get("TELEMETRY_RATE_LIMIT_RPM"), 1, 1_000_000_000),
    rateLimitMaxClients: parseInteger("TELEMETRY_RATE_LIMIT_MAX_CLIENTS", get("TELEMETRY_RATE_LIMIT_MAX_CLIENTS"), 1, 100_000_000),
    trustedProxies,
    maxBodyBytes: parseInteger("TELEMETRY_MAX_BODY_BYTES", get("TELEMETRY_MAX_BODY_BYTES"), 1024, 2 ** 31),
    maxBatchBytes: parseInteger("TELEMETRY_MAX_BATCH_BYTES", get("TELEMETRY_MAX_BATCH_BYTES"), 1024, 2 ** 31),
    maxBatchItems: parseInteger("TELEMETRY_MAX_BATCH_ITEMS", get("TELEMETRY_MAX_BATCH_ITEMS"), 1, 10_000_000),
    maxUrlLength: parseInteger("TELEMETRY_MAX_URL_LENGTH", get("TELEMETRY_MAX_URL_LENGTH"), 256, 16_000),
    maxQueryParams: parseInteger("TELEMETRY_MAX_QUERY_PARAMS", get("TELEMETRY_MAX_QUERY_PARAMS"), 1, 10_000),
    bodyTimeoutMs: parseInteger("TELEMETRY_BODY_TIMEOUT_MS", get("TELEMETRY_BODY_TIMEOUT_MS"), 100, 3_600_000),
    corsOrigins: get("TELEMETRY_CORS_ORIGINS").split(",").map((s) => s.trim()).filter(Boolean),
    logLevel: parseLogLevel(get("LOG_LEVEL")),
    retention: get("TELEMETRY_RETENTION_DAYS") ? days(parseInteger("TELEMETRY_RETENTION_DAYS", get("TELEMETRY_RETENTION_DAYS"), 1, 36_500)) : null,
    staleRunAfter: get("TELEMETRY_STALE_RUN_AFTER") ? parseDurationSetting("TELEMETRY_STALE_RUN_AFTER", get("TELEMETRY_STALE_RUN_AFTER")) : null,
    backupDir: get("TELEMETRY_BACKUP_DIR") ? resolve(get("TELEMETRY_BACKUP_DIR")) : null,
    backupIntervalHours: parseInteger("TELEMETRY_BACKUP_INTERVAL_HOURS", get("TELEMETRY_BACKUP_INTERVAL_HOURS"), 1, 8_760),
    backupKeep: parseInteger("TELEMETRY_BACKUP_KEEP", get("TELEMETRY_BACKUP_KEEP"), 1, 10_000),
  };
}

function definedOnly(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
}

function parseFlags(argv: readonly string[]): Env {
  const out: Env = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const name = FLAGS.get(flag);
    if (!name) throw new ConfigError(`unknown argument '${arg}' (try --help)`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    out[name] = value;
  }
  return out;
}

function parseInteger(name: string, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got '${text}'`);
  return n;
}

/** `name` as a duration such as 6h; the message says what a duration looks like. */
export function parseDurationSetting(name: string, text: string): Duration {
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new ConfigError(`${name} ${parsed.reason.startsWith("expected") ? `must be ${DURATION_HINT}` : parsed.reason}, got '${text}'`);
  return parsed.duration;
}

function parseBoolean(name: string, text: string): boolean {
  const word = text.toLowerCase();
  if (["true", "1", "yes", "on"].includes(word)) return true;
  if (["false", "0", "no", "off"].includes(word)) return false;
  throw new ConfigError(`${name} must be true or false, got '${text}'`);
}

function parseChoice(name: string, text: string, choices: readonly string[]): string {
  const upper = text.toUpperCase();
  if (!choices.includes(upper)) throw new ConfigError(`${name} must be one of ${choices.join(", ")}, got '${text}'`);
  return upper;
}

function parseLogLevel(text: string): LogLevel {
  const level = LOG_LEVELS.get(text.toLowerCase());
  if (!level) throw new ConfigError(`LOG_LEVEL must be one of debug, info, warning, error, got '${text}'`);
  return level;
}

import { startApp } from "./app.ts";
import { healthcheck, USAGE } from "./cli.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";
import { backupCommand, pruneCommand } from "./maintenance-commands.ts";
import { runCommand } from "./run-command.ts";
import { VERSION } from "./version.ts";

/** In-flight requests and queued writes get this long after SIGTERM/SIGINT before the process gives up. */
const SHUTDOWN_GRACE_MS = 9_000;

function fail(code: number, message: string): never {
  process.stderr.write(`local-telemetry-api: ${message}\n`);
  process.exit(code);
}

function serve(argv: readonly string[]): void {
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(2, `invalid configuration: ${error.message}`);
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let app: ReturnType<typeof startApp> | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    setTimeout(() => fail(1, "shutdown took too long; exiting with writes possibly unacknowledged"), SHUTDOWN_GRACE_MS).unref();
    (app?.stop() ?? Promise.resolve()).then(
      () => {
        logger.info("stopped", { signal });
        process.exit(0);
      },
      (error) => fail(1, `shutdown failed: ${String(error)}`),
    );
  };
  // Installed before listening, so a supervisor's SIGTERM right after start-up still stops cleanly.
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  try {
    app = startApp(config, logger);
  } catch (error) {
    fail(1, `cannot start: ${error instanceof Error ? error.message : String(error)}`);
  }
  logger.info("listening", { url: app.url.href, version: VERSION, db_path: config.dbPath });
}

/** Entry point: subcommand dispatch; exit codes 0 ok, 1 runtime failure, 2 bad configuration or usage. */
async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  // Before the flag checks: everything after `run`'s own options belongs to the wrapped command (`-- grep --help`).
  if (command === "run") process.exit(await runCommand(rest, process.env));
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE);
    return;
  }
  if (argv.includes("--version")) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (command === "healthcheck") process.exit((await healthcheck(rest, process.env)) ? 0 : 1);
  if (command === "backup") process.exit(await backupCommand(rest, process.env));
  if (command === "prune") process.exit(await pruneCommand(rest, process.env));
  if (command === "serve") return serve(rest);
  if (command === undefined || command.startsWith("-")) return serve(argv);
  fail(2, `unknown command '${command}' (try --help)`);
}

await main(process.argv.slice(2));

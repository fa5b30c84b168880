import { startApp } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";
import { VERSION } from "./version.ts";

/** Entry point: argv + env → Config → store → server; signals stop it cleanly; bad configuration exits 2. */
function main(): void {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`local-telemetry-api: invalid configuration: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  let app;
  try {
    app = startApp(config, logger);
  } catch (error) {
    process.stderr.write(`local-telemetry-api: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  logger.info("listening", { url: app.url.href, version: VERSION, db_path: config.dbPath });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    app.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error("shutdown failed", { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main();

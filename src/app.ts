import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { docsRoutes } from "./api/docs.ts";
import { buildOpenApiDocument } from "./api/openapi.ts";
import { exportRoutes } from "./api/export.ts";
import { runRoutes } from "./api/runs.ts";
import { statsRoutes } from "./api/stats.ts";
import { systemRoutes } from "./api/system.ts";
import type { Config } from "./config.ts";
import type { Route } from "./http/route.ts";
import { RequestMetrics } from "./http/request-metrics.ts";
import { createHandler } from "./http/server.ts";
import { createJobs, systemClock, type Clock, type Jobs } from "./jobs.ts";
import type { Logger } from "./logger.ts";
import { acquireDatabaseLock } from "./process-lock.ts";
import { RunStore } from "./store/run-store.ts";

/** How long stop() waits for in-flight requests before closing their connections. */
const STOP_GRACE_MS = 4_000;

export interface App {
  url: URL;
  store: RunStore;
  /** Retention, stale-run marking and scheduled backups, when configured (null otherwise). */
  jobs: Jobs | null;
  /** Stops accepting, lets in-flight requests finish, commits queued writes and closes the database. */
  stop(): Promise<void>;
}

export interface AppOptions {
  /** The background jobs' clock (epoch microseconds); tests pass one they control. */
  now?: Clock;
  /** false: the jobs run only when their tick() is called (tests); default true. */
  jobTimers?: boolean;
}

/** Opens (and migrates) the database, then serves the API. Used by main and by the HTTP tests alike. */
export function startApp(config: Config, logger: Logger, options: AppOptions = {}): App {
  mkdirSync(dirname(config.dbPath), { recursive: true });
  // Made now, so an unusable backup folder stops the start-up rather than failing every backup later.
  if (config.backupDir) mkdirSync(config.backupDir, { recursive: true });
  const lock = acquireDatabaseLock(config.dbPath);
  const metrics = new RequestMetrics();
  let store: RunStore;
  try {
    store = new RunStore(
      { path: config.dbPath, journalMode: config.journalMode, synchronous: config.synchronous, busyTimeoutMs: config.busyTimeoutMs },
      (size) => metrics.groupSizes.observe(size),
    );
  } catch (error) {
    lock.release();
    throw error;
  }
  const jobs = createJobs(config, store, logger, options.now ?? systemClock);
  const routes: Route[] = [...systemRoutes(store, metrics), ...runRoutes(store), ...exportRoutes(store), ...statsRoutes(store)];
  routes.push(...docsRoutes(() => buildOpenApiDocument(routes)));
  const handler = createHandler(routes, config, logger, metrics);
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: config.host,
      port: config.port,
      // Bodies are streamed and capped by our own limits after auth (401 before 413); Bun must not refuse them first.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      development: false,
      // Bun shares the port between processes when not in development mode; a second server must fail instead.
      reusePort: false,
      fetch: handler,
      error: () => new Response('{"detail":"Internal Server Error"}', { status: 500, headers: { "content-type": "application/json" } }),
    });
  } catch (error) {
    void store.close().finally(() => lock.release());
    throw error;
  }
  if (options.jobTimers !== false) jobs?.start();
  return {
    url: server.url,
    store,
    jobs,
    async stop() {
      // No new maintenance op may reach the writer once it starts closing.
      await jobs?.stop();
      // In-flight requests get a grace period; a client that stalls mid-body must not keep queued writes from committing.
      const graceful = server.stop();
      const finished = await Promise.race([graceful.then(() => true), Bun.sleep(STOP_GRACE_MS).then(() => false)]);
      if (!finished) await server.stop(true);
      await store.close();
      lock.release();
    },
  };
}

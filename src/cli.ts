import { SETTINGS } from "./config.ts";
import { VERSION } from "./version.ts";

export const USAGE = `local-telemetry-api ${VERSION}: telemetry server for agent and job runs

Usage:
  local-telemetry-api [serve] [--host H] [--port P] [--db PATH]   run the server (default command)
  local-telemetry-api healthcheck [--url URL]                      exit 0 if the server answers /health, else 1
  local-telemetry-api run --agent NAME --job TYPE [--url URL] [--token T] [--timeout S] -- CMD [ARGS...]
                                                                   run CMD, record it as a run, exit with its code
  local-telemetry-api backup OUT.sqlite [--db PATH]                consistent, checked copy while the server runs
  local-telemetry-api prune --older-than 30d [--dry-run] [--db PATH]
                                                                   delete runs created before then (server stopped)
  local-telemetry-api --help | --version

API (reference at /docs, schema at /openapi.json):
  GET  /health  /metrics  /api/v1/metadata
  POST /api/v1/runs  /api/v1/runs/batch
  GET  /api/v1/runs?agent_name=&status=&...&limit=&cursor=         newest first; next page in X-Next-Cursor
  GET  /api/v1/runs/export?format=ndjson|csv&<filters>             every matching run, streamed
  GET  /api/v1/stats?group_by=&bucket=hour|day&<filters>           counts, success rate, durations per bucket
  GET|PATCH /api/v1/runs/{event_id}   POST /api/v1/runs/{event_id}/associate-commit
  GET  /api/v1/runs/{event_id}/commit-url  /api/v1/runs/{event_id}/repo-url

Flags override environment variables. Environment (default):
${SETTINGS.map(([name, fallback, meaning]) => `  ${name.padEnd(34)} ${(fallback || "(unset)").padEnd(26)} ${meaning}`).join("\n")}

healthcheck --url defaults to http://127.0.0.1:$TELEMETRY_API_PORT/health.
Exit codes: 0 ok, 1 runtime failure, 2 invalid configuration or usage.
`;

/** Asks a running server for /health; true only for a 200 whose body says status ok. */
export async function healthcheck(argv: readonly string[], env: Record<string, string | undefined>): Promise<boolean> {
  const at = argv.indexOf("--url");
  const inline = argv.find((a) => a.startsWith("--url="))?.slice(6);
  const url = inline ?? (at >= 0 ? argv[at + 1] : undefined) ?? `http://127.0.0.1:${env.TELEMETRY_API_PORT || "8765"}/health`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { status?: unknown };
    return response.status === 200 && body.status === "ok";
  } catch {
    return false;
  }
}

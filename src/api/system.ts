import { defineRoute, type Route } from "../http/route.ts";
import { json, jsonObjectFromEntries, rawJson } from "../http/responses.ts";
import { nowTimestamp } from "../domain/timestamps.ts";
import type { RunStore } from "../store/run-store.ts";
import { metricsFormat } from "../domain/accept.ts";
import type { RequestMetrics } from "../http/request-metrics.ts";
import { renderPrometheus } from "./prometheus.ts";
import { VERSION } from "../version.ts";
import { HealthResponse, MetadataResponse, MetricsResponse } from "../schema/responses.ts";

const DAY_US = 86_400_000_000n;

export function systemRoutes(store: RunStore, metrics: RequestMetrics): Route[] {
  const dbPath = store.options.path;
  return [
    defineRoute({
      method: "GET",
      path: "/health",
      summary: "Service health",
      responses: { 200: { description: "The service is up; database settings as the open database reports them.", schema: HealthResponse } },
      auth: false,
      rateLimited: false,
      handle() {
        const { journalMode, synchronous } = store.settings();
        const problem = store.writeProblem;
        // Still 200 when degraded: reads keep working, and monitors read `status` (the healthcheck command does).
        return json(200, {
          status: problem ? "degraded" : "ok",
          version: VERSION,
          db_path: dbPath,
          journal_mode: journalMode,
          synchronous,
          ...(problem ? { detail: problem } : {}),
        });
      },
    }),
    defineRoute({
      method: "GET",
      path: "/metrics",
      summary: "Run counts: total, per agent (largest first), last 24 hours",
      responses: {
        200: {
          description: "System metrics as the contract's JSON; in the Prometheus text format when Accept prefers text/plain or OpenMetrics.",
          schema: MetricsResponse,
        },
      },
      auth: false,
      rateLimited: false,
      handle({ request }) {
        const { total, agents, recent } = store.metrics(nowTimestamp().micros - DAY_US);
        if (metricsFormat(request.headers.get("accept")) === "prometheus") {
          const text = renderPrometheus({ runs: store.runsByAgentAndStatus(), recent24h: recent, http: metrics, files: store.fileSizes() });
          return new Response(text, { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
        }
        const { journalMode } = store.settings();
        const performance = JSON.stringify({ db_path: dbPath, journal_mode: journalMode });
        return rawJson(200, `{"total_runs":${total},"agents":${jsonObjectFromEntries(agents)},"recent_24h":${recent},"performance":${performance}}`);
      },
    }),
    defineRoute({
      method: "GET",
      path: "/api/v1/metadata",
      summary: "Distinct agent names and job types",
      responses: { 200: { description: "Names in code-point order, with counts.", schema: MetadataResponse } },
      auth: false,
      rateLimited: true,
      handle() {
        const { agentNames, jobTypes } = store.metadata();
        return json(200, { agent_names: agentNames, job_types: jobTypes, counts: { agent_names: agentNames.length, job_types: jobTypes.length } });
      },
    }),
  ];
}

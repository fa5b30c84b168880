import type { Histogram, RequestMetrics } from "../http/request-metrics.ts";

/** Most agents shown by name; the rest are summed under agent_name="__other__" so a flood of names cannot explode cardinality. */
export const MAX_AGENT_SERIES = 200;

export interface PrometheusSnapshot {
  runs: readonly { agent_name: string; status: string; runs: number }[];
  recent24h: number;
  http: RequestMetrics;
  files: { database: number; wal: number };
}

/** Label values escaped as the text format requires: backslash, double quote and newline. */
export function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

const labels = (pairs: Record<string, string>) =>
  `{${Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;

function family(name: string, type: "counter" | "gauge" | "histogram", help: string, lines: string[]): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines].join("\n");
}

function histogramLines(name: string, base: Record<string, string>, histogram: Histogram): string[] {
  let cumulative = 0;
  const lines = histogram.bounds.map((bound, i) => {
    cumulative += histogram.counts[i]!;
    return `${name}_bucket${labels({ ...base, le: String(bound) })} ${cumulative}`;
  });
  lines.push(`${name}_bucket${labels({ ...base, le: "+Inf" })} ${histogram.count}`);
  lines.push(`${name}_sum${Object.keys(base).length ? labels(base) : ""} ${histogram.sum}`);
  lines.push(`${name}_count${Object.keys(base).length ? labels(base) : ""} ${histogram.count}`);
  return lines;
}

/** Keeps the largest agents by total runs; the others are folded into one "__other__" agent per status. */
function boundedRuns(runs: PrometheusSnapshot["runs"]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const r of runs) totals.set(r.agent_name, (totals.get(r.agent_name) ?? 0) + r.runs);
  const largestFirst = [...totals.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const kept = new Set(largestFirst.slice(0, MAX_AGENT_SERIES).map(([agent]) => agent));
  const series = new Map<string, number>();
  for (const r of runs) {
    const key = `${kept.has(r.agent_name) ? r.agent_name : "__other__"}\u0000${r.status}`;
    series.set(key, (series.get(key) ?? 0) + r.runs);
  }
  return series;
}

/** The Prometheus text exposition format (0.0.4) for /metrics. */
export function renderPrometheus(snapshot: PrometheusSnapshot): string {
  const { http } = snapshot;
  const families = [
    family(
      "telemetry_runs",
      "gauge",
      "Runs stored, by agent and current status.",
      [...boundedRuns(snapshot.runs)].map(([key, runs]) => {
        const [agent = "", status = ""] = key.split("\u0000");
        return `telemetry_runs${labels({ agent_name: agent, status })} ${runs}`;
      }),
    ),
    family("telemetry_runs_recent_24h", "gauge", "Runs created in the last 24 hours.", [`telemetry_runs_recent_24h ${snapshot.recent24h}`]),
    family(
      "telemetry_http_requests_total",
      "counter",
      "HTTP requests answered, by route pattern and status code.",
      [...http.requests].map(([key, n]) => {
        const [route = "", code = ""] = key.split("\u0000");
        return `telemetry_http_requests_total${labels({ route, code })} ${n}`;
      }),
    ),
    family(
      "telemetry_http_request_duration_seconds",
      "histogram",
      "Time from receiving a request to its response, by route pattern.",
      [...http.latency].flatMap(([route, histogram]) => histogramLines("telemetry_http_request_duration_seconds", { route }, histogram)),
    ),
    family("telemetry_http_rate_limited_total", "counter", "Requests refused by the rate limiter (429).", [
      `telemetry_http_rate_limited_total ${http.rateLimited}`,
    ]),
    family(
      "telemetry_write_group_size",
      "histogram",
      "Writes committed together in one transaction (group commit).",
      histogramLines("telemetry_write_group_size", {}, http.groupSizes),
    ),
    family("telemetry_database_size_bytes", "gauge", "Size of the SQLite database file.", [`telemetry_database_size_bytes ${snapshot.files.database}`]),
    family("telemetry_wal_size_bytes", "gauge", "Size of the SQLite write-ahead log.", [`telemetry_wal_size_bytes ${snapshot.files.wal}`]),
  ];
  return `${families.join("\n")}\n`;
}

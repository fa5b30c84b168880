/** Which representation of /metrics a client asked for. */
export type MetricsFormat = "json" | "prometheus";

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  return header
    .split(",")
    .map((part) => {
      const [range = "", ...params] = part.trim().split(";");
      const [type = "", subtype = ""] = range.trim().toLowerCase().split("/");
      const qParam = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith("q="));
      const q = qParam ? Number(qParam.slice(2)) : 1;
      return { type, subtype, q: Number.isFinite(q) ? Math.min(Math.max(q, 0), 1) : 0 };
    })
    .filter((range) => range.type !== "" && range.subtype !== "");
}

/** The q a client gives to `type/subtype`, from the most specific matching range (RFC 9110 §12.5.1). */
function quality(ranges: readonly MediaRange[], type: string, subtype: string): number {
  const exact = ranges.find((r) => r.type === type && r.subtype === subtype);
  if (exact) return exact.q;
  const anySubtype = ranges.find((r) => r.type === type && r.subtype === "*");
  if (anySubtype) return anySubtype.q;
  return ranges.find((r) => r.type === "*" && r.subtype === "*")?.q ?? 0;
}

/**
 * Prometheus text only when the client prefers text/plain or OpenMetrics strictly over JSON; no Accept,
 * `*\/*` or a tie keeps the contract's JSON, so existing clients see no change.
 */
export function metricsFormat(accept: string | null): MetricsFormat {
  if (!accept) return "json";
  const ranges = parseAccept(accept);
  const json = quality(ranges, "application", "json");
  const text = Math.max(quality(ranges, "text", "plain"), quality(ranges, "application", "openmetrics-text"));
  return text > json ? "prometheus" : "json";
}

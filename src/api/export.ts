import { Type } from "@sinclair/typebox";
import { commitUrl, repoUrl } from "../domain/git-urls.ts";
import { defineRoute, type Route } from "../http/route.ts";
import { HttpError, json, validationError } from "../http/responses.ts";
import { ErrorResponse, RunRecord } from "../schema/responses.ts";
import { EXPORT_FORMATS, ExportRunsQuery } from "../schema/runs.ts";
import { PUBLIC_COLUMNS, type RunRow } from "../store/columns.ts";
import type { Page, RunStore } from "../store/run-store.ts";
import { toRunRecord } from "./run-record.ts";
import { literalChoice, parseRunFilters } from "./query.ts";

/** Rows read per page: small enough that one page never holds the server thread for long, big enough to be cheap. */
export const EXPORT_PAGE_ROWS = 1_000;

/** The CSV columns: a RunRecord's, in its order (stored columns, then the derived URLs). */
export const CSV_COLUMNS: readonly string[] = [...PUBLIC_COLUMNS, "commit_url", "repo_url"];

type Format = (typeof EXPORT_FORMATS)[number];

const FORMATS: Record<Format, { contentType: string; header: string; line(row: RunRow): string }> = {
  ndjson: { contentType: "application/x-ndjson", header: "", line: (row) => `${JSON.stringify(toRunRecord(row))}\n` },
  csv: { contentType: "text/csv; charset=utf-8", header: `${CSV_COLUMNS.join(",")}\r\n`, line: csvLine },
};

/**
 * GET /api/v1/runs/export?…. The router prefers this literal path over /api/v1/runs/{event_id}, which
 * behaviours.md says must never be shadowed: a GET of a run carries no query string, so a bare
 * GET /api/v1/runs/export is that route's lookup of a run whose event_id is literally "export", and any
 * query string (a format or a filter) asks for the export.
 */
export function exportRoutes(store: RunStore): Route[] {
  return [
    defineRoute({
      method: "GET",
      path: "/api/v1/runs/export",
      summary: "Export matching runs as NDJSON or CSV (streamed)",
      auth: false,
      rateLimited: true,
      query: ExportRunsQuery,
      responses: {
        200: {
          description:
            "Every run matching the filters, newest created_at first, streamed in pages so memory stays flat at any size. NDJSON: one " +
            "RunRecord per line. CSV (RFC 4180): a header row of the RunRecord's columns, CRLF line ends, fields with a comma, quote, CR or " +
            'LF quoted and quotes doubled; null is an empty field, an empty string is "" ; metrics_json and context_json as stored JSON text; ' +
            "api_posted true/false. A database failure after the first page ends the transfer without its final chunk.",
          content: {
            "application/x-ndjson": Type.String({ description: "Lines, each a RunRecord.", contentSchema: RunRecord }),
            "text/csv": Type.String({ description: "RFC 4180 text." }),
          },
        },
        400: { description: "Invalid status or timestamp filter.", schema: ErrorResponse },
      },
      handle({ query }) {
        if (query.size === 0) {
          const run = store.getRun("export");
          if (!run) throw new HttpError(404, "Run not found: export");
          return json(200, toRunRecord(run));
        }
        const format = literalChoice(query, "format", EXPORT_FORMATS, "ndjson");
        if (!format.ok) throw validationError([format.issue]);
        const filters = parseRunFilters(query);
        const encoding = FORMATS[format.value];
        const read = (after: Page<RunRow>["next"]) => store.listRuns({ ...filters, limit: EXPORT_PAGE_ROWS, offset: 0, ...(after ? { after } : {}) });
        // The first page is read before answering, so a locked or unavailable database is still a 503, not a cut stream.
        let page: Page<RunRow> | null = read(null);
        let next: Page<RunRow>["next"] = null;
        let prefix = encoding.header;
        const encoder = new TextEncoder();
        const body = new ReadableStream<Uint8Array>({
          // One page per pull: the runtime pulls again only once the client has taken what was sent. A fast client
          // would otherwise have every page read back to back in microtasks, starving other requests: so each read
          // waits for the event loop's next turn first.
          async pull(controller) {
            if (!page) {
              await new Promise((resolve) => setImmediate(resolve));
              page = read(next);
            }
            const text = prefix + page.rows.map(encoding.line).join("");
            prefix = "";
            next = page.next;
            page = null;
            if (text) controller.enqueue(encoder.encode(text));
            if (!next) controller.close();
          },
        }, { highWaterMark: 0 });
        const stamp = new Date().toISOString().replace(/[-:]|\.\d+/g, "");
        return new Response(body, {
          status: 200,
          headers: {
            "content-type": encoding.contentType,
            "content-disposition": `attachment; filename="runs-${stamp}.${format.value}"`,
            "cache-control": "no-store",
          },
        });
      },
    }),
  ];
}

/** One CSV record (RFC 4180, CRLF-terminated) of a stored row, columns as CSV_COLUMNS. */
export function csvLine(row: RunRow): string {
  let line = "";
  for (const column of PUBLIC_COLUMNS) {
    const value = row[column];
    line += `${csvField(column === "api_posted" && typeof value === "number" ? value !== 0 : value)},`;
  }
  const repo = row.git_repo as string | null;
  return `${line}${csvField(commitUrl(repo, row.git_commit_hash as string | null))},${csvField(repoUrl(repo))}\r\n`;
}

/** RFC 4180 quoting; null is an empty field and an empty string a quoted empty field (as PostgreSQL's COPY CSV). */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  if (text === "") return '""';
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

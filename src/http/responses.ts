import type { ValidationIssue } from "../schema/validation.ts";

const JSON_TYPE = "application/json";

/** Thrown by handlers and the pipeline for any answer other than success; the server turns it into `{"detail": ...}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | ValidationIssue[],
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === "string" ? detail : "Validation error");
  }
}

export function validationError(issues: ValidationIssue[]): HttpError {
  return new HttpError(422, issues);
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return rawJson(status, JSON.stringify(body), headers);
}

/** For bodies serialised by hand (e.g. objects whose key order must survive integer-like keys). */
export function rawJson(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { "content-type": JSON_TYPE, ...headers } });
}

export function errorResponse(error: HttpError): Response {
  try {
    return json(error.status, { detail: error.detail }, error.headers);
  } catch {
    // A hostile body can nest too deep to echo back; the error is still reported, without the inputs.
    const detail = Array.isArray(error.detail) ? error.detail.map(({ input: _omitted, ...rest }) => rest) : error.detail;
    return json(error.status, { detail }, error.headers);
  }
}

/**
 * A JSON object from ordered entries. JavaScript objects move integer-like keys ("123") to the front and
 * treat "__proto__" specially, so maps keyed by client-chosen names are serialised from entries instead.
 */
export function jsonObjectFromEntries(entries: readonly (readonly [string, unknown])[]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;
}

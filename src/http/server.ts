import type { Server } from "bun";
import type { Config } from "../config.ts";
import { compileBodyValidator, type BodyValidator } from "../schema/validation.ts";
import { StoreFailure } from "../store/errors.ts";
import type { Logger } from "../logger.ts";
import type { RequestMetrics } from "./request-metrics.ts";
import { createBearerAuth } from "./auth.ts";
import { parseJsonBody, readBodyLimited } from "./body.ts";
import { clientAddress } from "./client-ip.ts";
import { CorsPolicy } from "./cors.ts";
import { RateLimiter } from "./rate-limit.ts";
import { errorResponse, HttpError } from "./responses.ts";
import type { Route } from "./route.ts";
import { Router } from "./router.ts";

const STORE_FAILURE_STATUS = { integrity: 400, busy: 503, unavailable: 503, internal: 500 } as const;

/**
 * The request pipeline, in the contract's order: route (404/405) → rate limit (429) → auth (401) →
 * body size (413) → JSON and validation (422) → handler. Nothing about a body is read before auth passed.
 */
export function createHandler(routes: readonly Route[], config: Config, logger: Logger, metrics: RequestMetrics) {
  const router = new Router(routes);
  const validators = new Map<Route, BodyValidator<unknown>>(
    routes.filter((r) => r.body).map((r) => [r, compileBodyValidator(r.body!.schema)]),
  );
  const limiter = config.rateLimitEnabled ? new RateLimiter(config.rateLimitRpm, config.rateLimitMaxClients) : null;
  const authenticate = config.authEnabled ? createBearerAuth(config.authToken!) : null;
  const trustedProxies = new Set(config.trustedProxies);
  const cors = new CorsPolicy(config.corsOrigins);

  const pipeline = async (request: Request, url: URL, server: Server<undefined>, seen: { route: string }): Promise<Response> => {
    if (request.url.length > config.maxUrlLength) {
      throw new HttpError(414, `URL too long: ${request.url.length} characters; the limit is ${config.maxUrlLength} (TELEMETRY_MAX_URL_LENGTH)`);
    }
    if (countQueryParams(url.search) > config.maxQueryParams) {
      throw new HttpError(400, `Too many query parameters; the limit is ${config.maxQueryParams} (TELEMETRY_MAX_QUERY_PARAMS)`);
    }
    const origin = request.headers.get("origin");
    if (request.method === "OPTIONS" && cors.allows(origin) && request.headers.has("access-control-request-method")) {
      const served = router.match("OPTIONS", url.pathname);
      if (served.kind === "method-not-allowed") return cors.preflight(origin, served.allow);
    }
    const match = router.match(request.method, url.pathname);
    if (match.kind === "not-found") throw new HttpError(404, "Not Found");
    if (match.kind === "method-not-allowed") throw new HttpError(405, "Method Not Allowed", { allow: match.allow.join(", ") });
    const { route, params } = match;
    seen.route = route.path;

    if (limiter && route.rateLimited) {
      const peer = server.requestIP(request)?.address ?? "unknown";
      limiter.take(clientAddress(peer, request.headers.get("x-forwarded-for"), trustedProxies));
    }
    if (authenticate && route.auth) authenticate(request);

    let body: unknown;
    if (route.body) {
      const batch = route.body.size === "batch";
      const bytes = await readBodyLimited(
        request,
        batch ? config.maxBatchBytes : config.maxBodyBytes,
        batch ? "TELEMETRY_MAX_BATCH_BYTES" : "TELEMETRY_MAX_BODY_BYTES",
        config.bodyTimeoutMs,
      );
      const parsed = parseJsonBody(bytes);
      if (batch && Array.isArray(parsed) && parsed.length > config.maxBatchItems) {
        throw new HttpError(413, `Batch has ${parsed.length} runs; the limit is ${config.maxBatchItems} (TELEMETRY_MAX_BATCH_ITEMS)`);
      }
      const validated = validators.get(route)!(parsed);
      if (!validated.ok) throw new HttpError(422, validated.issues);
      body = validated.value;
    }
    // The validator for this route produced `body`, so it has the type the route declared.
    return route.handle({ request, params, query: url.searchParams, body: body as never });
  };

  return async (request: Request, server: Server<undefined>): Promise<Response> => {
    const started = performance.now();
    const url = new URL(request.url);
    const seen = { route: "unmatched" };
    let response: Response;
    try {
      response = await pipeline(request, url, server, seen);
    } catch (error) {
      response = toErrorResponse(error, logger);
    }
    const requestId = acceptableRequestId(request.headers.get("x-request-id")) ?? crypto.randomUUID();
    response.headers.set("x-request-id", requestId);
    response.headers.set("x-content-type-options", "nosniff");
    const origin = request.headers.get("origin");
    if (cors.allows(origin)) for (const [name, value] of Object.entries(cors.headers(origin))) response.headers.set(name, value);
    // Never the Authorization header, a token or a body: only what identifies the request.
    const seconds = (performance.now() - started) / 1000;
    metrics.record(seen.route, response.status, seconds);
    logger.info("request", {
      request_id: requestId,
      method: request.method,
      path: url.pathname,
      status: response.status,
      duration_ms: Math.round(seconds * 1e6) / 1000,
      client_ip: server.requestIP(request)?.address ?? null,
    });
    return response;
  };
}

function countQueryParams(search: string): number {
  if (search.length <= 1) return 0;
  let count = 1;
  for (let i = 1; i < search.length; i++) if (search.charCodeAt(i) === 38 /* & */) count++;
  return count;
}

/** A client's own request id is echoed only if it is short printable ASCII, so it cannot forge log lines. */
function acceptableRequestId(value: string | null): string | null {
  return value !== null && /^[\x21-\x7e]{1,128}$/.test(value) ? value : null;
}

function toErrorResponse(error: unknown, logger: Logger): Response {
  if (error instanceof HttpError) return errorResponse(error);
  if (error instanceof StoreFailure) {
    if (error.kind === "internal") logger.error("database error", { error: String(error.cause ?? error.message) });
    return errorResponse(new HttpError(STORE_FAILURE_STATUS[error.kind], error.message, error.kind === "busy" || error.kind === "unavailable" ? { "retry-after": "1" } : {}));
  }
  logger.error("unhandled error", { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  return errorResponse(new HttpError(500, "Internal Server Error"));
}

import type { TSchema } from "@sinclair/typebox";
import type { Route } from "../http/route.ts";
import * as responses from "../schema/responses.ts";
import * as runs from "../schema/runs.ts";
import { VERSION } from "../version.ts";

const { ErrorResponse, ValidationErrorResponse } = responses;

/** Named schemas become components and are referenced by $ref, so each appears once in the document. */
const COMPONENTS: Record<string, TSchema> = {
  TelemetryRun: runs.TelemetryRun,
  RunUpdate: runs.RunUpdate,
  CommitAssociation: runs.CommitAssociation,
  RunRecord: responses.RunRecord,
  RunCreated: responses.RunCreated,
  RunDuplicate: responses.RunDuplicate,
  BatchResponse: responses.BatchResponse,
  RunUpdated: responses.RunUpdated,
  CommitAssociated: responses.CommitAssociated,
  CommitUrlResponse: responses.CommitUrlResponse,
  RepoUrlResponse: responses.RepoUrlResponse,
  HealthResponse: responses.HealthResponse,
  MetricsResponse: responses.MetricsResponse,
  MetadataResponse: responses.MetadataResponse,
  StatsResponse: responses.StatsResponse,
  ErrorResponse,
  ValidationErrorResponse,
};
const NAMES = new Map<TSchema, string>(Object.entries(COMPONENTS).map(([name, schema]) => [schema, name]));

const RATE_LIMIT_HEADERS = {
  "Retry-After": { description: "Seconds to wait (always 60).", schema: { type: "integer" } },
  "X-RateLimit-Limit": { description: "Requests per minute allowed per client IP.", schema: { type: "integer" } },
  "X-RateLimit-Remaining": { description: "Always 0 on a 429.", schema: { type: "integer" } },
};

const REQUEST_BODIES = new Set<TSchema>([runs.TelemetryRun, runs.RunUpdate, runs.CommitAssociation]);

/** In request bodies an optional field sent as null counts as absent (validation.ts), so the document says null is allowed. */
function nullableOptionals(schema: TSchema): Record<string, unknown> {
  const document = plain(schema) as { properties: Record<string, unknown>; required?: string[] };
  const required = new Set(document.required ?? []);
  for (const [name, property] of Object.entries(document.properties)) {
    if (!required.has(name)) document.properties[name] = { anyOf: [property, { type: "null" }] };
  }
  return document;
}

/** Plain JSON Schema: TypeBox's symbol keys dropped, known schemas replaced by references. */
function ref(schema: TSchema): unknown {
  const name = NAMES.get(schema);
  if (name) return { $ref: `#/components/schemas/${name}` };
  if (schema.type === "array" && schema.items) return { ...plain(schema), items: ref(schema.items as TSchema) };
  return plain(schema);
}

function plain(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema));
}

const error = (description: string, schema: TSchema = ErrorResponse, headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/json": { schema: ref(schema) } },
});

function operation(route: Route) {
  const params: unknown[] = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
    description: "The run's event_id (percent-encode reserved characters).",
  }));
  const requiredParams = new Set(route.query?.required ?? []);
  for (const [name, schema] of Object.entries(route.query?.properties ?? {})) {
    const isList = schema.type === "array";
    params.push({
      name,
      in: "query",
      required: requiredParams.has(name),
      ...(isList ? { style: "form", explode: true } : {}),
      schema: plain(schema),
      description: schema.description,
    });
  }

  const answers: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(route.responses)) {
    const bodies = "content" in answer! ? answer.content : { [answer!.contentType ?? "application/json"]: answer!.schema };
    answers[status] = {
      description: answer!.description,
      ...(answer!.headers
        ? { headers: Object.fromEntries(Object.entries(answer!.headers).map(([name, h]) => [name, { description: h.description, schema: plain(h.schema) }])) }
        : {}),
      content: Object.fromEntries(Object.entries(bodies).map(([type, schema]) => [type, { schema: ref(schema) }])),
    };
  }
  if (params.some((p) => (p as { in: string }).in === "path")) answers["404"] = error("No run with this event_id: `Run not found: <event_id>`.");
  if (route.auth) {
    answers["401"] = error("Auth is enabled and the bearer token is missing or wrong.", ErrorResponse, {
      "WWW-Authenticate": { description: "Always `Bearer`.", schema: { type: "string" } },
    });
  }
  if (route.body) answers["413"] = error("Body (or batch item count) over the configured limit.");
  if (route.body || route.query) answers["422"] = error("Validation error in FastAPI's shape.", ValidationErrorResponse);
  if (route.rateLimited) answers["429"] = error("Rate limit exceeded.", ErrorResponse, RATE_LIMIT_HEADERS);
  answers["405"] = error("This path does not serve that method; the Allow header lists the ones it does.");
  answers["500"] = error("Unexpected database error.");
  answers["503"] = error("Database locked by another process past the busy timeout, or storage unavailable; retry.");

  return {
    summary: route.summary,
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[{}]/g, "").replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string = "") => c.toUpperCase())}`,
    tags: [route.path.startsWith("/api/v1/runs") ? "runs" : "system"],
    ...(params.length ? { parameters: params } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: ref(route.body.schema), ...(route.body.example ? { example: route.body.example } : {}) } },
          },
        }
      : {}),
    responses: answers,
    ...(route.auth ? { security: [{ bearerAuth: [] }] } : {}),
  };
}

/**
 * The OpenAPI 3.1 document, generated from the same route table and TypeBox schemas that serve and validate
 * requests, so it cannot drift from what the server does.
 */
export function buildOpenApiDocument(routes: readonly Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  return {
    openapi: "3.1.0",
    info: {
      title: "local-telemetry-api",
      version: VERSION,
      description:
        "Telemetry for agent and job runs. Writes are idempotent by event_id and acknowledged only once durable. " +
        "Bearer auth applies to the marked operations only when the server runs with TELEMETRY_API_AUTH_ENABLED=true; " +
        "rate limiting (429) only with TELEMETRY_RATE_LIMIT_ENABLED=true.",
    },
    paths,
    components: {
      schemas: Object.fromEntries(
        Object.entries(COMPONENTS).map(([name, schema]) => [name, REQUEST_BODIES.has(schema) ? nullableOptionals(schema) : plain(schema)]),
      ),
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "TELEMETRY_API_AUTH_TOKEN" } },
    },
  };
}

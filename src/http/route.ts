import type { Static, TArray, TObject, TSchema } from "@sinclair/typebox";

export type BodySchema = TObject | TArray<TObject>;

export interface RouteContext<Body> {
  request: Request;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Body;
}

/** A route's whole description: the router, the request pipeline and (later) the OpenAPI document read it. */
export interface Route<S extends BodySchema | undefined = BodySchema | undefined> {
  method: "GET" | "POST" | "PATCH";
  path: string;
  summary: string;
  /** Enforced only when auth is enabled. */
  auth: boolean;
  /** Enforced only when rate limiting is enabled. */
  rateLimited: boolean;
  /** Which size limit applies to the body: single-run or batch settings. */
  body?: { schema: NonNullable<S>; size: "single" | "batch"; example?: unknown };
  /** Documented query parameters; the handler enforces the limits and defaults declared here. */
  query?: TObject;
  /** The answers this route itself gives; errors the pipeline adds (401, 413, 422, 429, ...) follow from the flags above. */
  responses: Partial<Record<number, RouteResponse>>;
  handle(context: RouteContext<S extends BodySchema ? Static<S> : undefined>): Response | Promise<Response>;
}

/** One documented answer: a body schema (JSON unless `contentType` says otherwise), or one per type in `content`. */
export type RouteResponse = { description: string; headers?: Record<string, { description: string; schema: TSchema }> } & (
  | { schema: TSchema; contentType?: string }
  | { content: Record<string, TSchema> }
);

/** Declares a route with its body type inferred from its schema. */
export function defineRoute<S extends BodySchema | undefined = undefined>(route: Route<S>): Route {
  return route as unknown as Route;
}

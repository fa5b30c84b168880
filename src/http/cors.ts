const ALLOWED_HEADERS = "authorization, content-type, x-request-id";
const EXPOSED_HEADERS = "x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-next-cursor, link, content-disposition";

/**
 * Browser access, off unless origins are configured. Only listed origins (or any, with "*") get
 * Access-Control-Allow-Origin; credentials are never allowed, since auth is a bearer header, not a cookie.
 */
export class CorsPolicy {
  private readonly any: boolean;
  private readonly origins: Set<string>;

  constructor(origins: readonly string[]) {
    this.any = origins.includes("*");
    this.origins = new Set(origins);
  }

  get enabled(): boolean {
    return this.any || this.origins.size > 0;
  }

  allows(origin: string | null): origin is string {
    return origin !== null && (this.any || this.origins.has(origin));
  }

  /** Headers for an actual response to an allowed origin. */
  headers(origin: string): Record<string, string> {
    return { "access-control-allow-origin": this.any ? "*" : origin, "access-control-expose-headers": EXPOSED_HEADERS, vary: "Origin" };
  }

  /** The answer to a preflight for a path that serves `methods`. */
  preflight(origin: string, methods: readonly string[]): Response {
    return new Response(null, {
      status: 204,
      headers: {
        ...this.headers(origin),
        "access-control-allow-methods": methods.join(", "),
        "access-control-allow-headers": ALLOWED_HEADERS,
        "access-control-max-age": "600",
      },
    });
  }
}

/** One compiled route: literal segments must match exactly; `{name}` segments capture one decoded segment. */
interface CompiledRoute<R> {
  method: string;
  segments: readonly ({ literal: string } | { param: string })[];
  literals: number;
  route: R;
}

export type Match<R> =
  | { kind: "found"; route: R; params: Record<string, string> }
  | { kind: "method-not-allowed"; allow: string[] }
  | { kind: "not-found" };

/**
 * A method + path router. Among routes matching a path, the one with more literal segments wins, so
 * `/runs/batch` and `/runs/{id}/commit-url` are never shadowed by `/runs/{id}`; a path that matches with
 * another method yields 405 and every method that path serves.
 */
export class Router<R extends { method: string; path: string }> {
  private readonly routes: CompiledRoute<R>[];

  constructor(routes: readonly R[]) {
    this.routes = routes
      .map((route) => {
        const segments = split(route.path).map((s) => (s.startsWith("{") && s.endsWith("}") ? { param: s.slice(1, -1) } : { literal: s }));
        return { method: route.method, segments, literals: segments.filter((s) => "literal" in s).length, route };
      })
      .sort((a, b) => b.literals - a.literals);
  }

  match(method: string, pathname: string): Match<R> {
    const raw = split(pathname);
    // A segment with a malformed escape is taken literally, so "/runs/%zz" is simply a run that does not exist.
    const decoded = raw.map(decodeSegment);
    const allow = new Set<string>();
    const lookup = method === "HEAD" ? "GET" : method;
    for (const candidate of this.routes) {
      const params = bind(candidate, raw, decoded);
      if (!params) continue;
      if (candidate.method === lookup) return { kind: "found", route: candidate.route, params };
      allow.add(candidate.method);
      if (candidate.method === "GET") allow.add("HEAD");
    }
    return allow.size ? { kind: "method-not-allowed", allow: [...allow].sort() } : { kind: "not-found" };
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Splits on "/" ignoring one trailing slash, so `/api/v1/runs/` is `/api/v1/runs`. */
function split(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  return trimmed.split("/").slice(1);
}

function bind<R>(route: CompiledRoute<R>, raw: string[], decoded: string[]): Record<string, string> | null {
  if (route.segments.length !== raw.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < raw.length; i++) {
    const segment = route.segments[i]!;
    if ("literal" in segment) {
      if (segment.literal !== raw[i]) return null;
    } else {
      if (decoded[i] === "") return null;
      params[segment.param] = decoded[i]!;
    }
  }
  return params;
}

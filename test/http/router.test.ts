import { describe, expect, test } from "bun:test";
import { Router } from "../../src/http/router.ts";

const routes = [
  { method: "GET", path: "/api/v1/runs" },
  { method: "POST", path: "/api/v1/runs" },
  { method: "POST", path: "/api/v1/runs/batch" },
  { method: "GET", path: "/api/v1/runs/{event_id}" },
  { method: "PATCH", path: "/api/v1/runs/{event_id}" },
  { method: "GET", path: "/api/v1/runs/{event_id}/commit-url" },
  { method: "POST", path: "/api/v1/runs/{event_id}/associate-commit" },
];
const router = new Router(routes);

describe("Router", () => {
  test.each([
    ["GET", "/api/v1/runs", "/api/v1/runs", {}],
    ["GET", "/api/v1/runs/", "/api/v1/runs", {}],
    ["POST", "/api/v1/runs/batch", "/api/v1/runs/batch", {}],
    ["GET", "/api/v1/runs/batch", "/api/v1/runs/{event_id}", { event_id: "batch" }],
    ["GET", "/api/v1/runs/abc/commit-url", "/api/v1/runs/{event_id}/commit-url", { event_id: "abc" }],
    ["GET", "/api/v1/runs/commit-url", "/api/v1/runs/{event_id}", { event_id: "commit-url" }],
    ["GET", "/api/v1/runs/a%2Fb%20c", "/api/v1/runs/{event_id}", { event_id: "a/b c" }],
    ["HEAD", "/api/v1/runs/x", "/api/v1/runs/{event_id}", { event_id: "x" }],
  ])("%s %s → %s", (method, path, expected, params) => {
    const match = router.match(method, path);
    expect(match).toEqual({ kind: "found", route: routes.find((r) => r.path === expected && r.method === (method === "HEAD" ? "GET" : method))!, params });
  });

  test("a known path with another method lists every method serving it", () => {
    expect(router.match("DELETE", "/api/v1/runs/batch")).toEqual({ kind: "method-not-allowed", allow: ["GET", "HEAD", "PATCH", "POST"] });
    expect(router.match("PUT", "/api/v1/runs")).toEqual({ kind: "method-not-allowed", allow: ["GET", "HEAD", "POST"] });
  });

  test("unknown paths and empty parameters are not found", () => {
    expect(router.match("GET", "/api/v1/runs/x/y")).toEqual({ kind: "not-found" });
    expect(router.match("GET", "/api/v1/runs//commit-url")).toEqual({ kind: "not-found" });
    expect(router.match("GET", "/")).toEqual({ kind: "not-found" });
  });

  test("a segment with malformed percent-encoding is taken literally, never thrown", () => {
    expect(router.match("GET", "/api/v1/runs/%E0%A4%A")).toMatchObject({ kind: "found", params: { event_id: "%E0%A4%A" } });
  });
});

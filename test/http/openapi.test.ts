import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { USAGE } from "../../src/cli.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

type Operation = {
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema: Record<string, unknown> }> }>;
  security?: unknown[];
  parameters?: { name: string; in: string; schema: Record<string, unknown> }[];
  requestBody?: { content: { "application/json": { example?: unknown } } };
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>>; components: Record<string, unknown> };

let server: TestServer;
let doc: Document;
beforeAll(async () => {
  server = await startTestServer();
  const response = await server.call("GET", "/openapi.json");
  expect(response.status).toBe(200);
  doc = (await response.json()) as Document;
});
afterAll(() => server.close());

const operations = () => Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));

describe("/openapi.json", () => {
  test("is a valid OpenAPI 3.1 document according to a real validator", async () => {
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
  });

  test("documents exactly the routes the router serves", async () => {
    const documented = operations().map(({ path, method }) => `${method.toUpperCase()} ${path}`).sort();
    expect(documented).toEqual(
      [
        "GET /health", "GET /metrics", "GET /api/v1/metadata", "POST /api/v1/runs", "POST /api/v1/runs/batch", "GET /api/v1/runs",
        "GET /api/v1/runs/{event_id}", "PATCH /api/v1/runs/{event_id}", "POST /api/v1/runs/{event_id}/associate-commit",
        "GET /api/v1/runs/{event_id}/commit-url", "GET /api/v1/runs/{event_id}/repo-url", "GET /api/v1/runs/export", "GET /api/v1/stats",
        "GET /openapi.json", "GET /docs", "GET /redoc", "GET /docs/scalar.js", "GET /docs/init.js",
      ].sort(),
    );
    // And every documented operation is really served (no 404/405 from the router).
    for (const { path, method } of operations()) {
      // (A query string: a bare GET /api/v1/runs/export is the lookup of a run named "export".)
      const url = `${path.replace("{event_id}", "no-such-run")}${path === "/api/v1/runs/export" ? "?format=ndjson" : ""}`;
      const response = await server.call(method.toUpperCase(), url, method === "get" ? undefined : {});
      expect({ path, method, status: response.status }).not.toMatchObject({ status: 405 });
      if (!path.includes("{event_id}")) expect({ path, method, status: response.status }).not.toMatchObject({ status: 404 });
    }
  });

  test("bearer security is declared on exactly the routes that enforce auth", () => {
    const secured = operations().filter(({ op }) => op.security).map(({ path, method }) => `${method.toUpperCase()} ${path}`).sort();
    expect(secured).toEqual(
      [
        "POST /api/v1/runs", "POST /api/v1/runs/batch", "PATCH /api/v1/runs/{event_id}", "POST /api/v1/runs/{event_id}/associate-commit",
        "GET /api/v1/runs/{event_id}/commit-url", "GET /api/v1/runs/{event_id}/repo-url",
      ].sort(),
    );
    for (const { op } of operations().filter(({ op }) => op.security)) expect(op.responses["401"]?.headers).toHaveProperty("WWW-Authenticate");
  });

  test("response codes of the contract are documented", () => {
    const codes = (path: string, method: string) => Object.keys(doc.paths[path]![method]!.responses).sort();
    expect(codes("/api/v1/runs", "post")).toEqual(expect.arrayContaining(["200", "201", "400", "401", "405", "413", "422", "429", "500"]));
    expect(codes("/api/v1/runs", "get")).toEqual(expect.arrayContaining(["200", "400", "422", "429", "500"]));
    expect(codes("/api/v1/runs/{event_id}", "patch")).toEqual(expect.arrayContaining(["200", "400", "401", "404", "413", "422", "429"]));
    expect(codes("/health", "get")).not.toContain("429");
    expect(doc.paths["/api/v1/runs"]!.post!.responses["429"]!.headers).toHaveProperty("Retry-After");
  });

  test("optional request fields accept null (null means absent); HTML and scripts are not documented as JSON", () => {
    const run = doc.components.TelemetryRun ?? (doc.components as { schemas: Record<string, { properties: Record<string, { anyOf?: unknown[] }> }> }).schemas.TelemetryRun;
    const props = (run as { properties: Record<string, { anyOf?: unknown[] }> }).properties;
    expect(props.end_time!.anyOf).toContainEqual({ type: "null" });
    expect(props.event_id!.anyOf).toBeUndefined();
    expect(Object.keys(doc.paths["/docs"]!.get!.responses["200"]!.content!)).toEqual(["text/html"]);
    expect(Object.keys(doc.paths["/docs/scalar.js"]!.get!.responses["200"]!.content!)).toEqual(["text/javascript"]);
  });

  test("query parameters carry their limits and defaults; examples come from the contract", () => {
    const params = doc.paths["/api/v1/runs"]!.get!.parameters!;
    const limit = params.find((p) => p.name === "limit")!;
    expect(limit.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 1000, default: 100 });
    expect(params.find((p) => p.name === "offset")!.schema).toMatchObject({ minimum: 0, default: 0 });
    expect(params.map((p) => p.name)).toEqual(expect.arrayContaining(["agent_name", "status", "job_type", "created_before", "created_after", "start_time_from", "start_time_to"]));
    const example = doc.paths["/api/v1/runs"]!.post!.requestBody!.content["application/json"].example as Record<string, unknown>;
    expect(example.event_id).toBe("550e8400-e29b-41d4-a716-446655440000");
  });

  test("export, stats and cursor paging are documented: parameters, content types, paging headers, the stats shape", () => {
    const names = (path: string) => doc.paths[path]!.get!.parameters!.map((p) => p.name);
    const param = (path: string, name: string) => doc.paths[path]!.get!.parameters!.find((p) => p.name === name)!;
    const filters = ["agent_name", "status", "job_type", "created_before", "created_after", "start_time_from", "start_time_to", "environment", "host"];
    expect(names("/api/v1/runs")).toEqual(expect.arrayContaining([...filters, "limit", "offset", "cursor"]));
    expect(names("/api/v1/runs/export")).toEqual(expect.arrayContaining([...filters, "format"]));
    expect(names("/api/v1/runs/export")).not.toContain("limit");
    expect(param("/api/v1/runs/export", "format").schema).toMatchObject({ type: "string", enum: ["ndjson", "csv"], default: "ndjson" });
    expect(names("/api/v1/stats")).toEqual(expect.arrayContaining([...filters, "group_by", "bucket"]));
    expect(param("/api/v1/stats", "group_by").schema).toMatchObject({ enum: ["agent_name", "job_type", "status", "environment"] });
    expect(param("/api/v1/stats", "bucket").schema).toMatchObject({ enum: ["hour", "day"], default: "day" });
    const list = doc.paths["/api/v1/runs"]!.get!.responses;
    expect(Object.keys(list["200"]!.headers!)).toEqual(["X-Next-Cursor", "Link"]);
    expect(Object.keys(doc.paths["/api/v1/runs/export"]!.get!.responses["200"]!.content!)).toEqual(["application/x-ndjson", "text/csv"]);
    expect(doc.paths["/api/v1/runs/export"]!.get!.responses["422"]).toBeDefined();
    expect(doc.paths["/api/v1/stats"]!.get!.responses["200"]!.content!["application/json"]!.schema).toEqual({ $ref: "#/components/schemas/StatsResponse" });
    const shape = (doc.components as { schemas: Record<string, { properties: Record<string, unknown> }> }).schemas.StatsResponse!;
    expect(Object.keys(shape.properties)).toEqual(["bucket", "group_by", "from", "to", "buckets", "series", "groups_omitted", "runs", "truncated"]);
  });

  test("--help lists every API route", () => {
    const documented = operations().map(({ path }) => path).filter((path) => !path.startsWith("/docs") && path !== "/redoc" && path !== "/openapi.json");
    for (const path of new Set(documented)) expect({ path, listed: USAGE.includes(path) }).toEqual({ path, listed: true });
  });
});

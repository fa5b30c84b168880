import { Type } from "@sinclair/typebox";
// Embedded in the compiled binary by `bun build --compile`: the docs page needs no CDN and no file beside the binary.
// The package does not export this path, so it is imported by location inside node_modules.
import scalarBundlePath from "../../node_modules/@scalar/api-reference/dist/browser/standalone.js" with { type: "file" };
import { defineRoute, type Route } from "../http/route.ts";
import { rawJson } from "../http/responses.ts";

/**
 * Scalar reaches out by default for fonts, a request proxy, an AI agent and telemetry; every one of those is
 * switched off or pointed at our own origin so the page works on a host with no network.
 */
const SCALAR_CONFIG = {
  url: "/openapi.json",
  withDefaultFonts: false,
  telemetry: false,
  hideClientButton: true,
  agent: { disabled: true },
  mcp: { disabled: true },
  showDeveloperTools: "never",
  defaultOpenAllTags: true,
};

const INIT_SCRIPT = `Scalar.createApiReference("#app", ${JSON.stringify(SCALAR_CONFIG)});\n`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>local-telemetry-api — API reference</title>
<link rel="icon" href="data:,">
</head>
<body>
<div id="app"></div>
<script src="/docs/scalar.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/** Scripts only from our origin; Scalar injects its styles at run time, hence style-src 'unsafe-inline'. */
const HTML_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
};
const Html = Type.String({ description: "HTML page." });
const Script = Type.String({ description: "JavaScript." });

export function docsRoutes(openApiDocument: () => unknown): Route[] {
  const scalarBundle = Bun.file(scalarBundlePath);
  const page = (path: string, summary: string) =>
    defineRoute({
      method: "GET",
      path,
      summary,
      auth: false,
      rateLimited: false,
      responses: { 200: { description: "The Scalar API reference, served from the binary.", schema: Html, contentType: "text/html" } },
      handle: () => new Response(PAGE, { headers: HTML_HEADERS }),
    });
  let documentText: string | undefined;
  return [
    defineRoute({
      method: "GET",
      path: "/openapi.json",
      summary: "OpenAPI 3.1 document of this API",
      auth: false,
      rateLimited: false,
      responses: { 200: { description: "Generated from the schemas that validate requests.", schema: Type.Object({}, { additionalProperties: true }) } },
      handle: () => rawJson(200, (documentText ??= JSON.stringify(openApiDocument()))),
    }),
    page("/docs", "Interactive API reference"),
    page("/redoc", "Interactive API reference (the reference served ReDoc here)"),
    defineRoute({
      method: "GET",
      path: "/docs/scalar.js",
      summary: "Scalar API reference bundle",
      auth: false,
      rateLimited: false,
      responses: { 200: { description: "Scalar's standalone browser bundle.", schema: Script, contentType: "text/javascript" } },
      handle: () => new Response(scalarBundle, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=86400" } }),
    }),
    defineRoute({
      method: "GET",
      path: "/docs/init.js",
      summary: "Docs page configuration",
      auth: false,
      rateLimited: false,
      responses: { 200: { description: "Starts Scalar with network features off.", schema: Script, contentType: "text/javascript" } },
      handle: () => new Response(INIT_SCRIPT, { headers: { "content-type": "text/javascript; charset=utf-8" } }),
    }),
  ];
}

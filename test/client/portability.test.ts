import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunRecord } from "../../src/client/index.ts";
import type { TestServer } from "../support/server.ts";
import { freePort, runProcess, tempDir, text, useServer } from "./helpers.ts";

const CLIENT_DIR = join(import.meta.dir, "..", "..", "src", "client");
const ALLOWED_IMPORTS = new Set(["node:fs", "node:os", "node:crypto", "node:path", "node:child_process"]);

test("the client has no runtime dependency: only relative imports and a few node: built-ins, no Bun API", () => {
  const violations: string[] = [];
  for (const name of readdirSync(CLIENT_DIR)) {
    const source = readFileSync(join(CLIENT_DIR, name), "utf8");
    for (const [, specifier] of source.matchAll(/^(?:import|export)[^;]*? from "([^"]+)"/gm)) {
      if (!specifier!.startsWith("./") && !ALLOWED_IMPORTS.has(specifier!)) violations.push(`${name} imports ${specifier}`);
    }
    if (/\bBun\./.test(source)) violations.push(`${name} uses a Bun API`);
  }
  expect(violations).toEqual([]);
});

let server: TestServer;
useServer((started) => (server = started));

const node = Bun.which("node");
const nodeMajor = node ? Number((await runProcess([node, "--version"])).stdout.toString().replace(/^v/, "").split(".")[0]) : 0;

// Node resolves "local-telemetry-api/client" to dist/client/index.js, which `npm run build:client` writes.
const SCRIPT = `
import { TelemetryClient } from "local-telemetry-api/client";
const { url, deadUrl, spoolDir } = JSON.parse(process.env.SETUP);
const quiet = { spoolDir, baseDelayMs: 1, onError: () => {} };
const offline = new TelemetryClient({ url: deadUrl, ...quiet });
const early = await offline.startRun({ agent_name: "node-client", job_type: "spooled" });
const telemetry = new TelemetryClient({ url, ...quiet });
const flushed = await telemetry.flush();
const run = await telemetry.startRun({ agent_name: "node-client", job_type: "lifecycle" });
await telemetry.endRun(run, { items_succeeded: 2 });
let thrown;
try { await telemetry.track("node-client", "tracked", () => { throw new Error("node says no"); }); } catch (e) { thrown = e.message; }
console.log(JSON.stringify({ spooled: early.result.spooled, flushed, thrown, record: await telemetry.getRun(run.event_id) }));
`;

test.skipIf(nodeMajor < 20)("on Node 20+, the built client records, spools and replays against the real server", async () => {
  const built = await runProcess([process.execPath, "run", "build:client"]);
  expect(built.exitCode).toBe(0);
  const setup = { url: server.base, deadUrl: `http://127.0.0.1:${freePort()}`, spoolDir: tempDir() };
  const ran = await runProcess([node!, "--input-type=module", "-e", SCRIPT], { env: { SETUP: JSON.stringify(setup) } });
  expect(text(ran.stderr)).toBe("");
  expect(ran.exitCode).toBe(0);
  const out = JSON.parse(text(ran.stdout)) as { spooled: boolean; flushed: unknown; thrown: string; record: RunRecord };
  expect(out).toMatchObject({
    spooled: true,
    flushed: { delivered: 1, rejected: 0, pendingBytes: 0 },
    thrown: "node says no",
    record: { agent_name: "node-client", status: "success", items_succeeded: 2 },
  });
  const rows = (await (await server.call("GET", "/api/v1/runs?agent_name=node-client")).json()) as RunRecord[];
  expect(rows.map((r) => `${r.job_type}:${r.status}`).sort()).toEqual(["lifecycle:success", "spooled:running", "tracked:failure"]);
});

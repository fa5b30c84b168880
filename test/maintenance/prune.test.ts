import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { cli, countersAndScan, lines, postBatches } from "./helpers.ts";
import { makeRun } from "../support/server.ts";

// `local-telemetry-api prune --older-than 30d [--dry-run]`: the retention job once, from the command line.
// The command reads the real clock, so the runs are placed far from its cutoff (days, not seconds).
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const DAY_MS = 86_400_000;
const daysAgo = (n: number, agent: string) => makeRun({ agent_name: agent, job_type: `job-${agent}`, created_at: new Date(Date.now() - n * DAY_MS).toISOString() });

async function seeded() {
  server = await startTestServer();
  const old = [...Array.from({ length: 1_500 }, () => daysAgo(45, "gone")), ...Array.from({ length: 20 }, () => daysAgo(31, "stays"))];
  const recent = [...Array.from({ length: 30 }, () => daysAgo(29, "stays")), ...Array.from({ length: 5 }, () => daysAgo(0, "fresh"))];
  await postBatches(server, [...old, ...recent]);
  return { server, old, recent };
}

const SUMMARY = /^(would remove|removed) (\d+) runs created before (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00) \(older than 30d\)$/;

test("--dry-run says what would go and changes nothing, also while the server runs", async () => {
  const { server, old } = await seeded();
  const before = await countersAndScan(server);
  const result = await cli(["prune", "--older-than", "30d", "--dry-run", "--db", server.dbPath]);
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  const match = SUMMARY.exec(result.stdout.trim());
  expect(match?.slice(1, 3)).toEqual(["would remove", String(old.length)]);
  const cutoff = Date.parse(match![3]!);
  expect(Math.abs(cutoff - (Date.now() - 30 * DAY_MS))).toBeLessThan(DAY_MS); // a sane cutoff, not a timing check
  expect(await countersAndScan(server)).toEqual(before);
}, 30_000);

test("refused while the server holds the database, naming the holder (exit 1, one line, nothing deleted)", async () => {
  const { server } = await seeded();
  const before = await countersAndScan(server);
  const result = await cli(["prune", "--older-than=30d", "--db", server.dbPath]);
  expect(result.code).toBe(1);
  expect(lines(result.stderr)).toEqual([expect.stringMatching(new RegExp(`refusing to prune: database .* is already in use by pid ${process.pid} `))]);
  expect(await countersAndScan(server)).toEqual(before);
}, 30_000);

test("with the server stopped it deletes exactly the older runs, prints the count, and the counters stay exact", async () => {
  const { server: first, old, recent } = await seeded();
  const dbPath = first.dbPath;
  await first.app.stop();
  const result = await cli(["prune", "--older-than", "30d"], { TELEMETRY_DB_PATH: dbPath });
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  const [summary, space] = lines(result.stdout);
  expect(SUMMARY.exec(summary!)?.slice(1, 3)).toEqual(["removed", String(old.length)]);
  expect(space).toMatch(/^gave \d+\.\d MiB back to the file system$/);

  server = await startTestServer({}, dbPath);
  const { served, scanned } = await countersAndScan(server);
  expect(served).toEqual(scanned);
  expect(scanned.total).toBe(recent.length);
  expect(served.agentNames).toEqual(["fresh", "stays"]);
  expect(served.agents).toEqual({ stays: 30, fresh: 5 });
  await server.close();
  server = undefined;
  rmSync(first.dir, { recursive: true, force: true }); // the stopped server's folder, which holds the database
}, 30_000);

test("usage errors: exit 2 with one line naming the problem", async () => {
  server = await startTestServer();
  const cases: [string[], string][] = [
    [["prune", "--db", server.dbPath], "needs --older-than"],
    [["prune", "--older-than", "30", "--db", server.dbPath], "--older-than must be a whole number and a unit"],
    [["prune", "--older-than", "0d", "--db", server.dbPath], "--older-than must be longer than zero, got '0d'"],
    [["prune", "--older-than", "30d", "now", "--db", server.dbPath], "unexpected argument 'now'"],
    [["prune", "--older-than", "30d", "--yes", "--db", server.dbPath], "unknown argument '--yes'"],
    [["prune", "--older-than", "30d", "--db", `${server.dir}/missing.sqlite`], "no database at"],
  ];
  for (const [argv, message] of cases) {
    const result = await cli(argv);
    expect({ argv, code: result.code, stderr: lines(result.stderr) }).toEqual({ argv, code: 2, stderr: [expect.stringContaining(message)] });
  }
}, 30_000);

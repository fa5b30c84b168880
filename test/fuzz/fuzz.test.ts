import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import fc from "fast-check";
import { startTestServer, type TestServer } from "../support/server.ts";
import { casesPerProperty, DEFAULT_SEED, FuzzHarness, integrityCheck, PROPERTIES } from "./properties.ts";

// The short fuzz run of `npm test`: every property of properties.ts against one real server, a few
// thousand cases in all, with a fixed seed so a failure reproduces (FUZZ_SEED=<seed> and the `path`
// fast-check prints replay it; FUZZ_CASES changes the total). `npm run fuzz` runs the same properties longer.

const SEED = Number(process.env.FUZZ_SEED ?? DEFAULT_SEED);
const CASES = casesPerProperty(Number(process.env.FUZZ_CASES ?? 3000));

let server: TestServer;
let harness: FuzzHarness;

beforeAll(async () => {
  server = await startTestServer();
  harness = new FuzzHarness(server, { healthEvery: 100 });
});

afterAll(async () => {
  // The integrity test stops the app itself; stop it here only if it never ran.
  if (!stopped) await server.app.stop();
  rmSync(server.dir, { recursive: true, force: true });
});

let stopped = false;

PROPERTIES.forEach((spec, i) => {
  test(`fuzz: ${spec.name}`, async () => {
    const seed = SEED + i;
    try {
      await fc.assert(spec.property(harness), { seed, numRuns: CASES.get(spec.name)! });
    } catch (error) {
      // fast-check's report names this property's seed; FUZZ_SEED takes the suite's base seed.
      const { message, cause } = error as Error;
      throw new Error(`Reproduce with FUZZ_SEED=${SEED} (this property runs with seed ${seed}).\n${message}\n${cause instanceof Error ? cause.message : ""}`);
    }
    await harness.health();
  }, 180_000);
});

test("fuzz: the server still answers, never gave a 5xx, and the database passes integrity_check", async () => {
  await harness.health();
  expect(harness.stats.serverErrors).toBe(0);
  expect(harness.stats.crashes).toBe(0);
  await server.app.stop();
  stopped = true;
  expect(integrityCheck(server.dbPath)).toBe("ok");
}, 60_000);

import { expect, test } from "bun:test";
import { join } from "node:path";
import { crashCycles } from "../../bench/crash.ts";

// Short form of bench/crash.ts: three kill -9 cycles; every acknowledged write must survive intact.
test("kill -9 at random moments loses no acknowledged run or PATCH", async () => {
  const report = await crashCycles(3, [process.execPath, join(import.meta.dir, "../../src/main.ts")]);
  expect(report.acknowledgedRuns).toBeGreaterThan(0);
  expect(report.acknowledgedPatches).toBeGreaterThan(0);
  expect(report).toMatchObject({ lostRuns: 0, corruptRuns: 0, integrity: ["ok"] });
}, 60_000);

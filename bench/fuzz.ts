// Long fuzz run: every property of test/fuzz/properties.ts against one real server on a fresh database.
// `npm run fuzz` runs 100,000 cases; `bun bench/fuzz.ts [cases] [--seed N]` changes the count or replays a seed.
// A property that fails is shrunk once to a minimal counterexample and then resumed with the next seed
// (without shrinking) until its share of cases has run, so the totals always cover every case.
// Prints the number of cases, of 5xx answers and of crashes (no complete answer, or /health not ok), then
// each failing property's minimal counterexample; exits 1 on any invariant violation.
import { rmSync } from "node:fs";
import fc from "fast-check";
import { startTestServer } from "../test/support/server.ts";
import { casesPerProperty, FuzzHarness, integrityCheck, PROPERTIES } from "../test/fuzz/properties.ts";

const args = process.argv.slice(2);
const seedAt = args.indexOf("--seed");
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : Date.now() % 2 ** 31;
const positional = args.filter((a, i) => !a.startsWith("--") && (seedAt < 0 || i !== seedAt + 1));
const total = positional[0] === undefined ? 100_000 : Number(positional[0]);
if (!Number.isInteger(total) || total < 1 || !Number.isInteger(seed)) {
  console.error("usage: bun bench/fuzz.ts [cases=100000] [--seed N]");
  process.exit(2);
}

const server = await startTestServer();
const harness = new FuzzHarness(server, { healthEvery: 250 });
const perProperty = casesPerProperty(total);
const reports: string[] = [];
/** Every failing case by the shape of its violation (quoted values blanked), to tell one bug from several. */
const signatures = new Map<string, number>();
const signatureOf = (error: unknown) =>
  (error instanceof Error ? error.message : String(error))
    .split("\n")
    .filter((line) => line.startsWith("  - ") || !line.startsWith("  "))
    .join(" | ")
    .replace(/"(?:[^"\\]|\\.)*"/g, "…")
    .replace(/\d+/g, "n")
    .slice(0, 300);
let generated = 0;
let failedCases = 0;
const started = performance.now();
console.log(`fuzzing ${server.base} with ${total} cases, seed ${seed}`);

for (const [i, spec] of PROPERTIES.entries()) {
  const t0 = performance.now();
  let remaining = perProperty.get(spec.name)!;
  let failures = 0;
  let runSeed = seed + i * 1_000_003;
  while (remaining > 0) {
    // Shrink only the first failure of a property: later ones are counted, not minimised.
    const details = await fc.check(spec.property(harness), { seed: runSeed, numRuns: remaining, endOnFailure: failures > 0 });
    remaining -= details.numRuns;
    generated += details.numRuns;
    if (!details.failed) break;
    failures++;
    const signature = `${spec.name}: ${signatureOf(details.errorInstance)}`;
    signatures.set(signature, (signatures.get(signature) ?? 0) + 1);
    if (failures === 1) {
      const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      const summary = (await fc.asyncDefaultReportMessage(details)) ?? "";
      const head = summary.split("\n").filter((l) => l && !l.startsWith("Counterexample") && !l.startsWith("Hint")).join("\n");
      reports.push(`✗ ${spec.name}\n  replay: bun bench/fuzz.ts ${total} --seed ${seed}\n${head}\n${cause}`);
    }
    runSeed++;
  }
  failedCases += failures;
  try {
    await harness.health();
  } catch (error) {
    reports.push(`✗ after "${spec.name}": ${(error as Error).message}`);
    failures++;
  }
  const seconds = (performance.now() - t0) / 1000;
  const note = failures ? `${failures} failing` : "ok";
  console.log(`${note.padEnd(12)} ${String(perProperty.get(spec.name)).padStart(7)} cases ${seconds.toFixed(1).padStart(7)} s  ${spec.name}`);
}

let integrity: string;
try {
  await server.app.stop();
  integrity = integrityCheck(server.dbPath);
} catch (error) {
  integrity = `could not check: ${(error as Error).message}`;
} finally {
  rmSync(server.dir, { recursive: true, force: true });
}
if (integrity !== "ok") reports.push(`✗ PRAGMA integrity_check: ${integrity}`);

const { cases, requests, serverErrors, crashes, readBacks, statuses } = harness.stats;
const seconds = (performance.now() - started) / 1000;
if (reports.length) console.log(`\n${reports.join("\n\n")}\n`);
if (signatures.size) {
  console.log("failing cases by kind of violation:");
  for (const [signature, n] of [...signatures].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(5)} × ${signature}`);
}
console.log(`cases: ${generated} (plus ${cases - generated} shrinking runs)  failing cases: ${failedCases}  5xx: ${serverErrors}  crashes: ${crashes}`);
console.log(`requests: ${requests}  runs acknowledged and read back: ${readBacks}  answers: ${Object.entries(statuses).map(([s, n]) => `${s}×${n}`).join(" ")}`);
console.log(`integrity_check: ${integrity}  time: ${seconds.toFixed(1)} s  seed: ${seed}`);
process.exit(reports.length || serverErrors || crashes ? 1 : 0);

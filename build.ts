// A module (for top-level await), run by `npm run build`.
export {};
// Compiles the server into one self-contained executable: dist/local-telemetry-api.
// Minified, with the source map embedded so a crash still names a source line.
const outfile = "dist/local-telemetry-api";

const result = await Bun.build({
  entrypoints: ["src/main.ts"],
  compile: { outfile },
  minify: true,
  sourcemap: "linked",
  target: "bun",
});

if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built ${outfile}`);

// Compiles the server into one self-contained executable (default dist/local-telemetry-api).
// Minified; --compile embeds the source map, so a crash still names a source line even with no file beside
// the binary (the .map file written next to it is only for external tools).

export async function buildBinary(outfile = "dist/local-telemetry-api"): Promise<string> {
  const result = await Bun.build({
    // Each thread's module is its own entrypoint so the executable embeds it for `new Worker(...)`.
    entrypoints: [
      `${import.meta.dir}/src/main.ts`,
      `${import.meta.dir}/src/store/writer-worker.ts`,
      `${import.meta.dir}/src/store/backup-worker.ts`,
    ],
    compile: { outfile },
    minify: true,
    sourcemap: "linked",
    target: "bun",
  });
  if (!result.success) throw new AggregateError(result.logs, "build failed");
  return outfile;
}

if (import.meta.main) {
  try {
    console.log(`built ${await buildBinary()}`);
  } catch (error) {
    console.error(error instanceof AggregateError ? error.errors.join("\n") : error);
    process.exit(1);
  }
}

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SETTINGS } from "../src/config.ts";

// The README is what a newcomer reads: every setting the server accepts must be in its table, with its default.
test("README's configuration table lists every setting with its default", () => {
  const readme = readFileSync(join(import.meta.dir, "../README.md"), "utf8");
  for (const [name, fallback] of SETTINGS) {
    const row = readme.split("\n").find((line) => line.startsWith(`| \`${name}\``));
    expect({ name, row: row !== undefined }).toEqual({ name, row: true });
    if (fallback) expect({ name, row }).toEqual({ name, row: expect.stringContaining(`\`${fallback}\``) });
  }
});

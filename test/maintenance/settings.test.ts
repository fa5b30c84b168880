import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { USAGE } from "../../src/cli.ts";
import { cli, lines } from "./helpers.ts";

describe("retention, stale-run and backup settings", () => {
  test("defaults: everything off, backups every 24 h keeping 7 once a folder is set", () => {
    expect(loadConfig([], {})).toMatchObject({ retention: null, staleRunAfter: null, backupDir: null, backupIntervalHours: 24, backupKeep: 7 });
  });

  test("values are read and normalised", () => {
    const config = loadConfig([], {
      TELEMETRY_RETENTION_DAYS: "90",
      TELEMETRY_STALE_RUN_AFTER: "6H",
      TELEMETRY_BACKUP_DIR: "rel/backups",
      TELEMETRY_BACKUP_INTERVAL_HOURS: "6",
      TELEMETRY_BACKUP_KEEP: "30",
    });
    expect(config).toMatchObject({
      retention: { text: "90d", micros: 90n * 86_400_000_000n },
      staleRunAfter: { text: "6h", micros: 6n * 3_600_000_000n },
      backupDir: resolve("rel/backups"),
      backupIntervalHours: 6,
      backupKeep: 30,
    });
  });

  const invalid: [env: Record<string, string>, message: string][] = [
    [{ TELEMETRY_RETENTION_DAYS: "0" }, "TELEMETRY_RETENTION_DAYS must be an integer from 1 to 36500, got '0'"],
    [{ TELEMETRY_RETENTION_DAYS: "30d" }, "TELEMETRY_RETENTION_DAYS must be an integer"],
    [{ TELEMETRY_STALE_RUN_AFTER: "6" }, "TELEMETRY_STALE_RUN_AFTER must be a whole number and a unit s, m, h, d or w, such as 90m, 6h or 30d, got '6'"],
    [{ TELEMETRY_STALE_RUN_AFTER: "0m" }, "TELEMETRY_STALE_RUN_AFTER must be longer than zero, got '0m'"],
    [{ TELEMETRY_BACKUP_INTERVAL_HOURS: "0" }, "TELEMETRY_BACKUP_INTERVAL_HOURS must be an integer from 1"],
    [{ TELEMETRY_BACKUP_KEEP: "-1" }, "TELEMETRY_BACKUP_KEEP must be an integer from 1"],
  ];
  for (const [env, message] of invalid) {
    test(`${JSON.stringify(env)} is a ConfigError`, () => {
      expect(() => loadConfig([], env)).toThrow(ConfigError);
      expect(() => loadConfig([], env)).toThrow(message);
    });
  }

  test("the server refuses a bad TELEMETRY_STALE_RUN_AFTER with one line and exit code 2", async () => {
    const result = await cli([], { TELEMETRY_STALE_RUN_AFTER: "six hours", TELEMETRY_API_PORT: "0" });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([expect.stringContaining("invalid configuration: TELEMETRY_STALE_RUN_AFTER must be")]);
  }, 20_000);

  test("--help lists the backup and prune commands", () => {
    expect(USAGE).toContain("local-telemetry-api backup OUT.sqlite [--db PATH]");
    expect(USAGE).toContain("local-telemetry-api prune --older-than 30d [--dry-run] [--db PATH]");
  });
});

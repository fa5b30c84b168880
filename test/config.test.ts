import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, loadConfig } from "../src/config.ts";

// loadConfig (defaults, flags over env, invalid values) and the process: exit code 2 on bad config,
// clean start on port 0 with a database folder it creates, clean exit on SIGTERM.

const ROOT = resolve(import.meta.dir, "..");

/** The ConfigError `fn` throws (failing the test if it throws anything else or nothing). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError, but nothing was thrown");
}

describe("loadConfig defaults", () => {
  const config = loadConfig([], {});

  test("host 0.0.0.0, port 8765", () => {
    expect(config.host).toBe("0.0.0.0");
    expect(config.port).toBe(8765);
  });

  test("database ./data/telemetry.sqlite resolved to an absolute path", () => {
    expect(config.dbPath).toBe(resolve("./data/telemetry.sqlite"));
    expect(config.dbPath.startsWith("/")).toBe(true);
  });

  test("WAL journal, synchronous FULL", () => {
    expect(config.journalMode).toBe("WAL");
    expect(config.synchronous).toBe("FULL");
  });

  test("auth off, rate limit off at 60 rpm", () => {
    expect(config.authEnabled).toBe(false);
    expect(config.authToken).toBeNull();
    expect(config.rateLimitEnabled).toBe(false);
    expect(config.rateLimitRpm).toBe(60);
  });

  test("body limits 1 MiB / 32 MiB / 10,000 items, busy timeout 5 s", () => {
    expect(config.maxBodyBytes).toBe(1024 * 1024);
    expect(config.maxBatchBytes).toBe(32 * 1024 * 1024);
    expect(config.maxBatchItems).toBe(10_000);
    expect(config.busyTimeoutMs).toBe(5000);
  });

  test("empty environment values count as unset", () => {
    const c = loadConfig([], { TELEMETRY_API_PORT: "", TELEMETRY_DB_JOURNAL_MODE: "", TELEMETRY_API_AUTH_ENABLED: "" });
    expect({ port: c.port, journal: c.journalMode, auth: c.authEnabled }).toEqual({ port: 8765, journal: "WAL", auth: false });
  });
});

describe("loadConfig from the environment", () => {
  test("every documented variable is read", () => {
    const c = loadConfig([], {
      TELEMETRY_API_HOST: "127.0.0.1",
      TELEMETRY_API_PORT: "9001",
      TELEMETRY_DB_PATH: "/tmp/x/db.sqlite",
      TELEMETRY_DB_JOURNAL_MODE: "delete",
      TELEMETRY_DB_SYNCHRONOUS: "normal",
      TELEMETRY_API_AUTH_ENABLED: "true",
      TELEMETRY_API_AUTH_TOKEN: "tok",
      TELEMETRY_RATE_LIMIT_ENABLED: "TRUE",
      TELEMETRY_RATE_LIMIT_RPM: "7",
      LOG_LEVEL: "DEBUG",
    });
    expect(c).toMatchObject({
      host: "127.0.0.1",
      port: 9001,
      dbPath: "/tmp/x/db.sqlite",
      journalMode: "DELETE",
      synchronous: "NORMAL",
      authEnabled: true,
      authToken: "tok",
      rateLimitEnabled: true,
      rateLimitRpm: 7,
      logLevel: "debug",
    });
  });

  test("booleans accept true/false, 1/0, yes/no, on/off", () => {
    for (const yes of ["true", "1", "yes", "on", "True"]) expect(loadConfig([], { TELEMETRY_RATE_LIMIT_ENABLED: yes }).rateLimitEnabled).toBe(true);
    for (const no of ["false", "0", "no", "off", "FALSE"]) expect(loadConfig([], { TELEMETRY_RATE_LIMIT_ENABLED: no }).rateLimitEnabled).toBe(false);
  });

  test("a relative TELEMETRY_DB_PATH is resolved", () => {
    expect(loadConfig([], { TELEMETRY_DB_PATH: "rel/dir/t.sqlite" }).dbPath).toBe(resolve("rel/dir/t.sqlite"));
  });

  test("port 0 (pick a free port) is allowed", () => {
    expect(loadConfig([], { TELEMETRY_API_PORT: "0" }).port).toBe(0);
  });
});

describe("loadConfig flags override the environment", () => {
  const env = { TELEMETRY_API_HOST: "10.1.1.1", TELEMETRY_API_PORT: "1111", TELEMETRY_DB_PATH: "/tmp/env.sqlite" };

  test("--host, --port, --db as separate arguments", () => {
    const c = loadConfig(["--host", "127.0.0.2", "--port", "9002", "--db", "/tmp/flag.sqlite"], env);
    expect({ host: c.host, port: c.port, dbPath: c.dbPath }).toEqual({ host: "127.0.0.2", port: 9002, dbPath: "/tmp/flag.sqlite" });
  });

  test("--port=1 form (and --host=, --db=)", () => {
    const c = loadConfig(["--port=1", "--host=::1", "--db=rel/flag.sqlite"], env);
    expect({ host: c.host, port: c.port, dbPath: c.dbPath }).toEqual({ host: "::1", port: 1, dbPath: resolve("rel/flag.sqlite") });
  });

  test("a flag overrides only its own setting", () => {
    const c = loadConfig(["--port", "2222"], env);
    expect({ host: c.host, port: c.port, dbPath: c.dbPath }).toEqual({ host: "10.1.1.1", port: 2222, dbPath: "/tmp/env.sqlite" });
  });

  test("an invalid flag value is reported against its setting", () => {
    expect(configError(() => loadConfig(["--port", "abc"], env)).message).toContain("TELEMETRY_API_PORT");
  });
});

describe("loadConfig rejects invalid values with a ConfigError naming the setting", () => {
  const cases: [what: string, argv: string[], env: Record<string, string>, names: string][] = [
    ['port "abc"', [], { TELEMETRY_API_PORT: "abc" }, "TELEMETRY_API_PORT"],
    ["port 70000", [], { TELEMETRY_API_PORT: "70000" }, "TELEMETRY_API_PORT"],
    ["port -1", [], { TELEMETRY_API_PORT: "-1" }, "TELEMETRY_API_PORT"],
    ["port 80.5", [], { TELEMETRY_API_PORT: "80.5" }, "TELEMETRY_API_PORT"],
    ['journal mode "FOO"', [], { TELEMETRY_DB_JOURNAL_MODE: "FOO" }, "TELEMETRY_DB_JOURNAL_MODE"],
    ['synchronous "X"', [], { TELEMETRY_DB_SYNCHRONOUS: "X" }, "TELEMETRY_DB_SYNCHRONOUS"],
    ['LOG_LEVEL "loud"', [], { LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    ['TELEMETRY_API_AUTH_ENABLED "maybe"', [], { TELEMETRY_API_AUTH_ENABLED: "maybe" }, "TELEMETRY_API_AUTH_ENABLED"],
    ['TELEMETRY_RATE_LIMIT_ENABLED "sometimes"', [], { TELEMETRY_RATE_LIMIT_ENABLED: "sometimes" }, "TELEMETRY_RATE_LIMIT_ENABLED"],
    ['TELEMETRY_RATE_LIMIT_RPM "fast"', [], { TELEMETRY_RATE_LIMIT_RPM: "fast" }, "TELEMETRY_RATE_LIMIT_RPM"],
    ["TELEMETRY_RATE_LIMIT_RPM 0", [], { TELEMETRY_RATE_LIMIT_RPM: "0" }, "TELEMETRY_RATE_LIMIT_RPM"],
    ["auth enabled without a token", [], { TELEMETRY_API_AUTH_ENABLED: "true" }, "TELEMETRY_API_AUTH_TOKEN"],
    ["auth enabled with a blank token", [], { TELEMETRY_API_AUTH_ENABLED: "true", TELEMETRY_API_AUTH_TOKEN: "   " }, "TELEMETRY_API_AUTH_TOKEN"],
    ["unknown flag", ["--bogus"], {}, "--bogus"],
    ["unknown flag with a value", ["--verbose=1"], {}, "--verbose"],
    ["flag without its value", ["--port"], {}, "--port"],
    ["--port=70000", ["--port=70000"], {}, "TELEMETRY_API_PORT"],
  ];

  for (const [what, argv, env, name] of cases) {
    test(`${what} → ConfigError naming ${name}`, () => {
      const error = configError(() => loadConfig(argv, env));
      expect(error.message).toContain(name);
      expect(error.message).not.toContain("\n");
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The process
// ---------------------------------------------------------------------------------------------

/** The parent environment without any setting of ours, plus `env`. */
function childEnv(env: Record<string, string>): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("TELEMETRY_") && k !== "LOG_LEVEL") clean[k] = v;
  }
  return { ...clean, ...env };
}

function spawnMain(env: Record<string, string>, argv: string[] = []) {
  return Bun.spawn([process.execPath, "src/main.ts", ...argv], { cwd: ROOT, env: childEnv(env), stdout: "pipe", stderr: "pipe" });
}

async function runToExit(env: Record<string, string>, argv: string[] = []) {
  const child = spawnMain(env, argv);
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, stdout, stderr };
}

const looksLikeStack = (text: string) => /\bat .*\.ts:\d+/.test(text) || /^\s+at /m.test(text) || text.includes("error: ") && text.includes(".ts:");

describe("bun src/main.ts with bad configuration", () => {
  test("TELEMETRY_API_PORT=abc: exit code 2, one stderr line naming TELEMETRY_API_PORT, no stack trace", async () => {
    const { code, stderr } = await runToExit({ TELEMETRY_API_PORT: "abc" });
    expect(code).toBe(2);
    const lines = stderr.split("\n").filter((l) => l.trim() !== "");
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("TELEMETRY_API_PORT");
    expect(looksLikeStack(stderr)).toBe(false);
  }, 20_000);

  test("auth enabled without a token: exit code 2, one stderr line naming TELEMETRY_API_AUTH_TOKEN", async () => {
    const { code, stderr } = await runToExit({ TELEMETRY_API_AUTH_ENABLED: "true" });
    expect(code).toBe(2);
    const lines = stderr.split("\n").filter((l) => l.trim() !== "");
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("TELEMETRY_API_AUTH_TOKEN");
    expect(looksLikeStack(stderr)).toBe(false);
  }, 20_000);

  test("unknown flag: exit code 2, one stderr line naming it", async () => {
    const { code, stderr } = await runToExit({}, ["--no-such-flag"]);
    expect(code).toBe(2);
    const lines = stderr.split("\n").filter((l) => l.trim() !== "");
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("--no-such-flag");
    expect(looksLikeStack(stderr)).toBe(false);
  }, 20_000);

  test("journal mode FOO: exit code 2, one stderr line naming TELEMETRY_DB_JOURNAL_MODE", async () => {
    const { code, stderr } = await runToExit({ TELEMETRY_DB_JOURNAL_MODE: "FOO" });
    expect(code).toBe(2);
    const lines = stderr.split("\n").filter((l) => l.trim() !== "");
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("TELEMETRY_DB_JOURNAL_MODE");
  }, 20_000);
});

/** Reads stdout line by line until a JSON line whose message is "listening"; returns it. */
async function waitForListening(stream: ReadableStream<Uint8Array>): Promise<{ line: Record<string, unknown>; seen: string }> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stdout ended before a "listening" line; got: ${buffer}`);
    buffer += decoder.decode(value, { stream: true });
    for (const raw of buffer.split("\n").slice(0, -1)) {
      try {
        const line = JSON.parse(raw) as Record<string, unknown>;
        if (line.message === "listening") {
          reader.releaseLock();
          return { line, seen: buffer };
        }
      } catch {
        // not a JSON line; keep reading
      }
    }
  }
}

describe("bun src/main.ts starts, serves and stops", () => {
  test("port 0 and a database in a folder that does not exist yet: listening line, /health, SIGTERM → exit 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telemetry-main-"));
    const dbDir = join(dir, "not", "there", "yet");
    const dbPath = join(dbDir, "telemetry.sqlite");
    expect(existsSync(dbDir)).toBe(false);
    const child = spawnMain({ TELEMETRY_API_HOST: "127.0.0.1", TELEMETRY_API_PORT: "0", TELEMETRY_DB_PATH: dbPath, LOG_LEVEL: "info" });
    const stderrText = new Response(child.stderr).text();
    try {
      const { line } = await waitForListening(child.stdout);
      expect(typeof line.url).toBe("string");
      const url = new URL(line.url as string);
      expect(url.hostname).toBe("127.0.0.1");
      expect(Number(url.port)).toBeGreaterThan(0);
      expect(line).toMatchObject({ version: "2.1.0", db_path: dbPath });

      const response = await fetch(new URL("/health", url));
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: "ok", version: "2.1.0", db_path: dbPath, journal_mode: "WAL", synchronous: "FULL" });

      const post = await fetch(new URL("/api/v1/runs", url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ event_id: "main-e2e", run_id: "r", agent_name: "a", job_type: "j", start_time: "2026-01-01T00:00:00Z" }),
      });
      expect(post.status).toBe(201);

      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      expect(existsSync(dbDir)).toBe(true);
      expect(existsSync(dbPath)).toBe(true);
      expect(looksLikeStack(await stderrText)).toBe(false);

      // the run survived the shutdown
      const { Database } = await import("bun:sqlite");
      const db = new Database(dbPath, { readonly: true });
      try {
        expect(db.query("SELECT event_id FROM agent_runs").all()).toEqual([{ event_id: "main-e2e" }]);
      } finally {
        db.close();
      }
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await child.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test("--port=0 --db=<path> --host=127.0.0.1 flags work the same way", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telemetry-main-"));
    const dbPath = join(dir, "flags", "t.sqlite");
    const child = spawnMain({ TELEMETRY_API_PORT: "abc" /* overridden by the flag */ }, ["--port=0", `--db=${dbPath}`, "--host=127.0.0.1"]);
    try {
      const { line } = await waitForListening(child.stdout);
      const response = await fetch(new URL("/health", line.url as string));
      expect(await response.json()).toMatchObject({ status: "ok", db_path: dbPath });
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      expect(existsSync(dbPath)).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await child.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

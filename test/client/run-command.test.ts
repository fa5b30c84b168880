import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { TelemetryClient, type RunRecord } from "../../src/client/index.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { freePort, MAIN, runProcess, tempDir, testOptions, text, useServer } from "./helpers.ts";

let server: TestServer;
let plainDir: string;
useServer((started) => {
  server = started;
  plainDir = tempDir(); // not inside any git repository
});

let agents = 0;
/** Runs `local-telemetry-api run` for a fresh agent name, against the test server unless `url` says otherwise. */
async function wrap(command: string[], options: { cwd?: string; url?: string; spoolDir?: string; flags?: string[]; stdin?: string } = {}) {
  const agent = `wrapped-${++agents}`;
  const finished = await runProcess([process.execPath, MAIN, "run", "--agent", agent, "--job", "wrapper-test", ...(options.flags ?? []), "--", ...command], {
    cwd: options.cwd ?? plainDir,
    env: { TELEMETRY_API_URL: options.url ?? server.base, TELEMETRY_SPOOL_DIR: options.spoolDir ?? tempDir() },
    ...(options.stdin !== undefined && { stdin: options.stdin }),
  });
  return { agent, ...finished };
}

async function recorded(agent: string): Promise<RunRecord> {
  const rows = (await (await server.call("GET", `/api/v1/runs?agent_name=${agent}`)).json()) as RunRecord[];
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

describe("local-telemetry-api run", () => {
  test("`true`: exit 0, a success run with host, duration and exit code, no git fields outside a repository", async () => {
    const { agent, exitCode, stdout, stderr } = await wrap(["true"]);
    expect(exitCode).toBe(0);
    expect(text(stdout)).toBe("");
    expect(text(stderr)).toBe("");
    const run = await recorded(agent);
    expect(run).toMatchObject({
      job_type: "wrapper-test",
      status: "success",
      host: hostname(),
      trigger_type: "cli",
      metrics_json: { exit_code: 0 },
      context_json: { command: "true", cwd: plainDir },
      error_summary: null,
      git_repo: null,
      git_branch: null,
      git_commit_hash: null,
    });
    expect(run.start_time).toEndWith("Z");
    expect(run.end_time).toEndWith("Z");
    expect(Number.isInteger(run.duration_ms)).toBe(true);
  });

  test("`false`: exit 1, a failure run with the exit code", async () => {
    const { agent, exitCode } = await wrap(["false"]);
    expect(exitCode).toBe(1);
    expect(await recorded(agent)).toMatchObject({ status: "failure", metrics_json: { exit_code: 1 }, error_summary: "exit code 1" });
  });

  test("a failing command's last stderr lines become error_summary; stderr still reaches the caller whole", async () => {
    const script = 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "line $i" >&2; done; printf "\\033[31mfatal: no disk\\033[0m\\n" >&2; exit 3';
    const { agent, exitCode, stderr } = await wrap(["sh", "-c", script]);
    expect(exitCode).toBe(3);
    expect(text(stderr)).toStartWith("line 1\nline 2\n");
    expect(text(stderr)).toEndWith("line 12\n\x1b[31mfatal: no disk\x1b[0m\n");
    const run = await recorded(agent);
    expect(run.error_summary).toBe(["line 4", "line 5", "line 6", "line 7", "line 8", "line 9", "line 10", "line 11", "line 12", "fatal: no disk"].join("\n"));
    expect(run.error_details).toStartWith("exit code 3; last lines of stderr:\nline 1\n");
  });

  test("a command killed by a signal: 128 + n, a failure naming the signal", async () => {
    const { agent, exitCode } = await wrap(["sh", "-c", "echo about to die >&2; kill -KILL $$"]);
    expect(exitCode).toBe(137);
    expect(await recorded(agent)).toMatchObject({ status: "failure", metrics_json: { exit_code: 137, signal: "SIGKILL" }, error_summary: "about to die" });
  });

  test("SIGTERM to the wrapper is forwarded to the command and the run is cancelled", async () => {
    const agent = `wrapped-${++agents}`;
    const child = Bun.spawn([process.execPath, MAIN, "run", "--agent", agent, "--job", "wrapper-test", "--", "sh", "-c", "echo ready; exec sleep 30"], {
      cwd: plainDir,
      env: { PATH: process.env.PATH!, TELEMETRY_API_URL: server.base, TELEMETRY_SPOOL_DIR: tempDir() },
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = child.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
    child.kill("SIGTERM");
    expect(await child.exited).toBe(143);
    expect(await recorded(agent)).toMatchObject({ status: "cancelled", metrics_json: { exit_code: 143, signal: "SIGTERM", cancelled_by: "SIGTERM" }, error_summary: "cancelled by SIGTERM" });
  });

  test("--timeout ends the command and records a timeout", async () => {
    const { agent, exitCode } = await wrap(["sleep", "30"], { flags: ["--timeout", "0.2"] });
    expect(exitCode).toBe(143);
    expect(await recorded(agent)).toMatchObject({ status: "timeout", metrics_json: { exit_code: 143, timeout_s: 0.2 }, error_summary: "timed out after 0.2 s" });
  });

  test("binary data passes through stdout and stderr byte for byte, and stdin reaches the command", async () => {
    const dir = tempDir();
    const data = new Uint8Array(300_000).map((_, i) => (i < 256 ? i : (i * 7919 + (i >> 8)) & 0xff));
    writeFileSync(join(dir, "blob"), data);
    const { agent, exitCode, stdout, stderr } = await wrap(["sh", "-c", 'cat "$1"; cat "$1" >&2; exit 5', "sh", join(dir, "blob")]);
    expect(exitCode).toBe(5);
    expect(Buffer.from(stdout).equals(data)).toBe(true);
    expect(Buffer.from(stderr).equals(data)).toBe(true);
    const run = await recorded(agent);
    expect(run.status).toBe("failure");
    expect(run.error_summary!.length).toBeGreaterThan(0);

    const echoed = await wrap(["cat"], { stdin: "piped in\n" });
    expect(text(echoed.stdout)).toBe("piped in\n");
  });

  test("inside a git repository: repo (without credentials), branch and HEAD commit", async () => {
    const repo = tempDir();
    const git = async (...args: string[]) => {
      const done = await runProcess(["git", ...args], { cwd: repo, env: { GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" } });
      expect(done.exitCode).toBe(0);
      return text(done.stdout).trim();
    };
    await git("init", "--quiet", "--initial-branch", "feature/wrapper");
    writeFileSync(join(repo, "file.txt"), "hello\n");
    await git("add", "file.txt");
    await git("-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "--quiet", "-m", "first");
    await git("remote", "add", "origin", "https://someone:s3cret@github.com/acme/widget.git");
    const head = await git("rev-parse", "HEAD");

    const { agent, exitCode } = await wrap(["git", "status", "--short"], { cwd: repo });
    expect(exitCode).toBe(0);
    const run = await recorded(agent);
    expect(run).toMatchObject({
      git_repo: "https://github.com/acme/widget.git",
      git_branch: "feature/wrapper",
      git_commit_hash: head,
      commit_url: `https://github.com/acme/widget/commit/${head}`,
      repo_url: "https://github.com/acme/widget",
    });
  });

  test("server down: the command's exit code all the same, the run spooled, then replayed once", async () => {
    const port = freePort();
    const spoolDir = tempDir();
    const { agent, exitCode, stdout } = await wrap(["sh", "-c", "echo still works; exit 7"], { url: `http://127.0.0.1:${port}`, spoolDir });
    expect(exitCode).toBe(7);
    expect(text(stdout)).toBe("still works\n");
    expect(readFileSync(join(spoolDir, "spool.ndjson"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).op)).toEqual(["create", "update"]);

    const back = await startTestServer({ TELEMETRY_API_PORT: String(port) });
    try {
      const replayer = new TelemetryClient({ url: back.base, ...testOptions(spoolDir) });
      expect(await replayer.flush()).toMatchObject({ delivered: 2, rejected: 0, pendingBytes: 0 });
      const rows = (await (await back.call("GET", `/api/v1/runs?agent_name=${agent}`)).json()) as RunRecord[];
      expect(rows).toMatchObject([{ status: "failure", metrics_json: { exit_code: 7 } }]);
    } finally {
      await back.close();
    }
  });

  test("usage errors exit 2 without running anything; options after -- belong to the command", async () => {
    const missing = await runProcess([process.execPath, MAIN, "run", "--job", "j", "--", "touch", "should-not-exist"], { cwd: plainDir });
    expect(missing.exitCode).toBe(2);
    expect(text(missing.stderr)).toStartWith("local-telemetry-api run: --agent NAME is required\n");
    expect(existsSync(join(plainDir, "should-not-exist"))).toBe(false);
    const { exitCode, stdout } = await wrap(["echo", "--help", "--version"]);
    expect(exitCode).toBe(0);
    expect(text(stdout)).toBe("--help --version\n");
    const notFound = await wrap(["no-such-command-anywhere"]);
    expect(notFound.exitCode).toBe(127);
    expect((await recorded(notFound.agent)).status).toBe("failure");
  });
});

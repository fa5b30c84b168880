import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { planReplay } from "../../src/client/replay.ts";
import { defaultSpoolDir, Spool, SpoolError, type SpoolEntry } from "../../src/client/spool.ts";
import type { NewRun } from "../../src/client/types.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

const run = (event_id: string, extra: Partial<NewRun> = {}): NewRun => ({ event_id, run_id: `r-${event_id}`, agent_name: "a", job_type: "j", start_time: "2026-01-05T18:40:27Z", ...extra });
const create = (event_id: string, extra: Partial<NewRun> = {}): SpoolEntry => ({ op: "create", event_id, body: run(event_id, extra) });

describe("Spool", () => {
  test("appends whole lines in order, knows which runs wait, and hands them over once", () => {
    const spool = new Spool(join(tempDir(), "nested", "spool"));
    expect(spool.isEmpty()).toBe(true);
    expect(spool.claim()).toBeNull();
    spool.append(create("e1"));
    spool.append({ op: "update", event_id: "e1", body: { status: "success" } });
    spool.append(create("e2"));
    expect(spool.holds("e1")).toBe(true);
    expect(spool.holds("e3")).toBe(false);
    const lines = readFileSync(spool.path, "utf8").trimEnd().split("\n").map((line) => JSON.parse(line));
    expect(lines.map((l) => [l.v, l.op, l.event_id])).toEqual([[1, "create", "e1"], [1, "update", "e1"], [1, "create", "e2"]]);
    expect(lines.every((l) => /Z$/.test(l.spooled_at))).toBe(true);

    const claim = spool.claim()!;
    expect(claim.entries.map((e) => `${e.op}:${e.event_id}`)).toEqual(["create:e1", "update:e1", "create:e2"]);
    expect(spool.claim()).toBeNull(); // the lock is held
    spool.append(create("e3")); // a writer during replay starts a new file
    claim.done();
    expect(spool.holds("e1")).toBe(false);
    expect(spool.claim()!.entries.map((e) => e.event_id)).toEqual(["e3"]);
  });

  test("a released claim is replayed first next time, before newer entries", () => {
    const spool = new Spool(tempDir());
    spool.append(create("old"));
    spool.claim()!.release();
    spool.append(create("new"));
    const claim = spool.claim()!;
    expect(claim.entries.map((e) => e.event_id)).toEqual(["old", "new"]);
    claim.done();
    expect(spool.isEmpty()).toBe(true);
    expect(readdirSync(spool.dir)).toEqual([]);
  });

  test("a torn last line (a crash mid-write) is skipped, and the next append is not glued to it", () => {
    const spool = new Spool(tempDir());
    spool.append(create("whole"));
    appendFileSync(spool.path, '{"v":1,"op":"create","event_id":"torn","bo');
    spool.append(create("after"));
    expect(spool.holds("after")).toBe(true);
    expect(spool.holds("torn")).toBe(false);
    expect(spool.claim()!.entries.map((e) => e.event_id)).toEqual(["whole", "after"]);
  });

  test("holds() keeps up with appends, claims and new files", () => {
    const spool = new Spool(tempDir());
    spool.append(create("e1"));
    expect([spool.holds("e1"), spool.holds("e2")]).toEqual([true, false]);
    spool.append(create("e2"));
    expect(spool.holds("e2")).toBe(true);
    spool.claim()!.done();
    expect([spool.holds("e1"), spool.holds("e2")]).toEqual([false, false]);
    spool.append(create("e3"));
    expect([spool.holds("e1"), spool.holds("e3")]).toEqual([false, true]);
  });

  test("past its size cap it refuses new entries and keeps the old ones", () => {
    const spool = new Spool(tempDir(), 500);
    spool.append(create("first"));
    const size = spool.pendingBytes();
    expect(size).toBeGreaterThan(180);
    spool.append(create("second"));
    expect(() => spool.append(create("third"))).toThrow(SpoolError);
    expect(spool.pendingBytes()).toBe(2 * size + 3); // "second" is one character longer than "first", written 3 times
    expect(spool.claim()!.entries.map((e) => e.event_id)).toEqual(["first", "second"]);
  });

  test("another live replayer's lock is respected; a dead one's is taken over", async () => {
    const spool = new Spool(tempDir());
    spool.append(create("e1"));
    writeFileSync(join(spool.dir, "replay.lock"), String(process.pid));
    expect(spool.claim()).toBeNull();
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    writeFileSync(join(spool.dir, "replay.lock"), String(gone.pid));
    expect(spool.claim()?.entries).toHaveLength(1);
  });

  test("refused entries are kept in rejected.ndjson with the reason", () => {
    const spool = new Spool(tempDir());
    spool.reject(create("bad", { start_time: "yesterday" }), "422: start_time");
    const [line] = readFileSync(join(spool.dir, "rejected.ndjson"), "utf8").trimEnd().split("\n");
    expect(JSON.parse(line!)).toMatchObject({ event_id: "bad", reason: "422: start_time", body: { start_time: "yesterday" } });
    expect(spool.isEmpty()).toBe(true);
  });

  test("the default folder follows TELEMETRY_SPOOL_DIR, then XDG_STATE_HOME, then ~/.local/state", () => {
    expect(defaultSpoolDir({ TELEMETRY_SPOOL_DIR: "/x/spool", XDG_STATE_HOME: "/state" })).toBe("/x/spool");
    expect(defaultSpoolDir({ XDG_STATE_HOME: "/state" })).toBe("/state/local-telemetry-api/spool");
    expect(defaultSpoolDir({})).toBe(join(homedir(), ".local", "state", "local-telemetry-api", "spool"));
  });

  test("a spool folder that cannot be created is a SpoolError, not a crash", () => {
    const file = join(tempDir(), "a-file");
    writeFileSync(file, "");
    expect(() => new Spool(join(file, "spool")).append(create("e1"))).toThrow(SpoolError);
    expect(existsSync(join(file, "spool"))).toBe(false);
  });
});

describe("planReplay", () => {
  test("a run's later writes are folded into its creation, in order, nulls never erasing a value", () => {
    const plan = planReplay([
      create("e1", { status: "running" }),
      create("e2"),
      { op: "update", event_id: "e1", body: { items_succeeded: 3, output_summary: "half" } },
      { op: "associate", event_id: "e1", body: { commit_hash: "abcdef1", commit_source: "llm", commit_author: "A <a@x>" } },
      { op: "update", event_id: "e1", body: { status: "success", output_summary: "all", error_summary: null as unknown as string } },
      create("e1", { agent_name: "a second copy is ignored" }),
    ]);
    expect(plan.followUps).toEqual([]);
    expect(plan.creates.map((c) => c.run.event_id)).toEqual(["e1", "e2"]);
    const [first] = plan.creates;
    expect(first!.run).toEqual({
      ...run("e1"),
      status: "success",
      items_succeeded: 3,
      output_summary: "all",
      git_commit_hash: "abcdef1",
      git_commit_source: "llm",
      git_commit_author: "A <a@x>",
    });
    expect(first!.after.map((op) => op.op)).toEqual(["update", "associate", "update"]);
    expect(first!.entries).toHaveLength(5);
  });

  test("writes for a run created before the outage become follow-ups; consecutive updates become one PATCH", () => {
    const plan = planReplay([
      { op: "update", event_id: "old", body: { items_succeeded: 1 } },
      { op: "update", event_id: "old", body: { items_succeeded: 2, status: "success" } },
      { op: "associate", event_id: "old", body: { commit_hash: "abcdef1", commit_source: "ci" } },
    ]);
    expect(plan.creates).toEqual([]);
    expect(plan.followUps).toEqual([
      {
        event_id: "old",
        ops: [
          { op: "update", body: { items_succeeded: 2, status: "success" } },
          { op: "associate", body: { commit_hash: "abcdef1", commit_source: "ci" } },
        ],
        entries: expect.any(Array),
      },
    ]);
  });
});

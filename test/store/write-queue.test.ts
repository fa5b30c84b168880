/**
 * The write path (design.md, "The write path"): every write goes through one queue that commits many
 * requests in one SQLite transaction, and answers each only after that commit. behaviours.md: a known
 * event_id is a 200 duplicate and the stored run is left untouched; an unknown id on a run route is a 404.
 *
 * First through the real server with bursts of concurrent requests, then on WriteQueue itself with an
 * in-memory database to pin down how one failing op is isolated from the rest of its group.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { StoreFailure } from "../../src/store/errors.ts";
import { WriteQueue } from "../../src/store/write-queue.ts";
import { makeRun, startTestServer, type TestServer } from "../support/server.ts";

type Json = Record<string, any>;

async function answer(response: Response): Promise<{ status: number; body: Json }> {
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

async function listAll(server: TestServer, query = ""): Promise<Json[]> {
  const runs: Json[] = [];
  for (let offset = 0; ; offset += 1000) {
    const response = await server.call("GET", `/api/v1/runs?limit=1000&offset=${offset}${query}`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as Json[];
    runs.push(...page);
    if (page.length < 1000) return runs;
  }
}

describe("write queue through the real server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  test("200 concurrent POSTs with distinct event_ids all get 201 and are all stored", async () => {
    const runs = Array.from({ length: 200 }, (_, i) => makeRun({ agent_name: "burst-distinct", run_id: `burst-${i}`, items_discovered: i }));
    const answers = await Promise.all(runs.map((run) => server.call("POST", "/api/v1/runs", run).then(answer)));
    expect(answers.map((a) => a.status)).toEqual(runs.map(() => 201));
    answers.forEach((a, i) => expect(a.body).toEqual({ status: "created", event_id: runs[i]!.event_id, run_id: runs[i]!.run_id }));

    const stored = await listAll(server, "&agent_name=burst-distinct");
    expect(stored.length).toBe(200);
    expect(new Set(stored.map((r) => r.event_id))).toEqual(new Set(runs.map((r) => r.event_id as string)));
    // Each stored run is the one its request sent (no mix-up between requests of one group).
    const byEventId = new Map(stored.map((r) => [r.event_id, r]));
    for (const run of runs) expect(byEventId.get(run.event_id)).toMatchObject({ run_id: run.run_id, items_discovered: run.items_discovered });
    // Ties in created_at never make pages overlap or skip: ids are unique across the whole list.
    expect(new Set(stored.map((r) => r.id)).size).toBe(200);

    const metrics = await answer(await server.call("GET", "/metrics"));
    expect(metrics.body.agents["burst-distinct"]).toBe(200);
  });

  test("concurrent POSTs of the same event_id: exactly one 201, the rest 200 duplicate, the first copy kept", async () => {
    const eventId = `same-${crypto.randomUUID()}`;
    // Every copy differs in run_id, so the stored row shows which request won.
    const copies = Array.from({ length: 50 }, (_, i) => makeRun({ event_id: eventId, agent_name: "burst-same", run_id: `copy-${i}` }));
    const answers = await Promise.all(copies.map((run) => server.call("POST", "/api/v1/runs", run).then(answer)));

    const created = answers.filter((a) => a.status === 201);
    const duplicates = answers.filter((a) => a.status === 200);
    expect(created.length).toBe(1);
    expect(duplicates.length).toBe(49);
    expect(created[0]!.body).toMatchObject({ status: "created", event_id: eventId });
    for (const d of duplicates) expect(d.body).toEqual({ status: "duplicate", event_id: eventId, message: "Event already exists (idempotent)" });

    const stored = await listAll(server, "&agent_name=burst-same");
    expect(stored.length).toBe(1);
    expect(stored[0]!.run_id).toBe(created[0]!.body.run_id);
    const one = await answer(await server.call("GET", `/api/v1/runs/${eventId}`));
    expect(one.body.run_id).toBe(created[0]!.body.run_id);
  });

  test("valid POSTs and PATCHes of unknown ids in one burst: PATCHes 404, POSTs undisturbed", async () => {
    const runs = Array.from({ length: 100 }, (_, i) => makeRun({ agent_name: "burst-mixed", run_id: `mixed-${i}` }));
    const unknown = Array.from({ length: 100 }, (_, i) => `missing-${i}-${crypto.randomUUID()}`);
    const requests: Promise<{ kind: "post" | "patch"; index: number; status: number; body: Json }>[] = [];
    for (let i = 0; i < 100; i++) {
      requests.push(server.call("POST", "/api/v1/runs", runs[i]).then(answer).then((a) => ({ kind: "post" as const, index: i, ...a })));
      requests.push(
        server
          .call("PATCH", `/api/v1/runs/${unknown[i]}`, { status: "success", items_succeeded: 3 })
          .then(answer)
          .then((a) => ({ kind: "patch" as const, index: i, ...a })),
      );
    }
    const answers = await Promise.all(requests);

    const posts = answers.filter((a) => a.kind === "post");
    const patches = answers.filter((a) => a.kind === "patch");
    expect(posts.map((a) => a.status)).toEqual(posts.map(() => 201));
    for (const p of patches) {
      expect(p.status).toBe(404);
      expect(p.body).toEqual({ detail: `Run not found: ${unknown[p.index]}` });
    }

    const stored = await listAll(server, "&agent_name=burst-mixed");
    expect(stored.length).toBe(100);
    expect(new Set(stored.map((r) => r.event_id))).toEqual(new Set(runs.map((r) => r.event_id as string)));
    // The PATCHes touched nothing: every stored run still has its POSTed defaults.
    for (const r of stored) expect(r).toMatchObject({ status: "running", items_succeeded: 0 });
    for (const id of unknown.slice(0, 5)) expect((await server.call("GET", `/api/v1/runs/${id}`)).status).toBe(404);
  });

  test("PATCHes of known runs and POSTs of new ones in one burst all apply", async () => {
    const existing = Array.from({ length: 50 }, (_, i) => makeRun({ agent_name: "burst-patch", run_id: `existing-${i}` }));
    for (const run of existing) expect((await server.call("POST", "/api/v1/runs", run)).status).toBe(201);
    const fresh = Array.from({ length: 50 }, (_, i) => makeRun({ agent_name: "burst-patch", run_id: `fresh-${i}` }));
    const answers = await Promise.all([
      ...existing.map((run, i) => server.call("PATCH", `/api/v1/runs/${run.event_id}`, { status: "success", items_succeeded: i }).then(answer)),
      ...fresh.map((run) => server.call("POST", "/api/v1/runs", run).then(answer)),
    ]);
    expect(answers.slice(0, 50).map((a) => a.status)).toEqual(existing.map(() => 200));
    expect(answers.slice(50).map((a) => a.status)).toEqual(fresh.map(() => 201));
    const stored = new Map((await listAll(server, "&agent_name=burst-patch")).map((r) => [r.event_id, r]));
    expect(stored.size).toBe(100);
    existing.forEach((run, i) => expect(stored.get(run.event_id)).toMatchObject({ status: "success", items_succeeded: i }));
    for (const run of fresh) expect(stored.get(run.event_id)).toMatchObject({ status: "running" });
  });

  test("concurrent batches with overlapping event_ids: every event stored once, counts add up", async () => {
    const pool = Array.from({ length: 60 }, (_, i) => makeRun({ agent_name: "burst-batch", run_id: `pool-${i}` }));
    // Ten batches of 20 drawn from a pool of 60: each event_id appears in several batches.
    const batches = Array.from({ length: 10 }, (_, b) => Array.from({ length: 20 }, (_, j) => pool[(b * 7 + j) % 60]!));
    const answers = await Promise.all(batches.map((batch) => server.call("POST", "/api/v1/runs/batch", batch).then(answer)));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body.total).toBe(20);
      expect(a.body.inserted + a.body.duplicates).toBe(20);
      expect(a.body.errors).toEqual([]);
    }
    const distinct = new Set(batches.flat().map((r) => r.event_id as string));
    expect(answers.reduce((n, a) => n + a.body.inserted, 0)).toBe(distinct.size);
    const stored = await listAll(server, "&agent_name=burst-batch");
    expect(new Set(stored.map((r) => r.event_id))).toEqual(distinct);
    expect(stored.length).toBe(distinct.size);
  });
});

describe("WriteQueue on an in-memory database", () => {
  type Op = { n: number; label: string; throwAfterInsert?: boolean };

  function setup() {
    const db = new Database(":memory:");
    db.run("CREATE TABLE t (n INTEGER NOT NULL CHECK (n >= 0), label TEXT NOT NULL UNIQUE)");
    // Record each group's fate through the queue's hooks: one "COMMIT" per committed group, "ROLLBACK" per abandoned one.
    const statements: string[] = [];
    const insert = db.prepare("INSERT INTO t (n, label) VALUES (?, ?)");
    const seenInTransaction: boolean[] = [];
    const queue = new WriteQueue<Op, string>(db, (op) => {
      seenInTransaction.push(db.inTransaction);
      insert.run(op.n, op.label);
      if (op.throwAfterInsert) throw new Error(`op ${op.label} gave up after writing`);
      return `ok:${op.label}`;
    }, { beforeCommit: () => statements.push("COMMIT"), onRollback: () => statements.push("ROLLBACK") });
    const labels = () => db.query<{ label: string }, []>("SELECT label FROM t ORDER BY rowid").all().map((r) => r.label);
    return { db, queue, statements, seenInTransaction, labels };
  }

  test("an op that violates a CHECK constraint fails alone; the others in its group commit", async () => {
    const { db, queue, statements, labels, seenInTransaction } = setup();
    const ops: Op[] = [
      { n: 1, label: "a" },
      { n: 2, label: "b" },
      { n: -1, label: "bad" }, // CHECK (n >= 0)
      { n: 3, label: "c" },
      { n: 4, label: "d" },
    ];
    // Submitted in the same tick: one group.
    const outcomes = await Promise.allSettled(ops.map((op) => queue.submit(op)));

    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect(outcomes.filter((o) => o.status === "fulfilled").map((o) => (o as PromiseFulfilledResult<string>).value)).toEqual(["ok:a", "ok:b", "ok:c", "ok:d"]);
    const failure = (outcomes[2] as PromiseRejectedResult).reason;
    expect(failure).toBeInstanceOf(StoreFailure);
    expect((failure as StoreFailure).kind).toBe("integrity");
    expect(String((failure as StoreFailure).message)).not.toContain("INSERT");

    expect(labels()).toEqual(["a", "b", "c", "d"]);
    expect(db.inTransaction).toBe(false);
    // Every op ran inside a transaction: first all together, then (after the failure) each in its own savepoint.
    expect(seenInTransaction.every(Boolean)).toBe(true);
    expect(seenInTransaction.length).toBe(ops.slice(0, 3).length + ops.length);
    // It really was one group: the fast attempt was abandoned once and the careful one committed once.
    expect(statements).toEqual(["ROLLBACK", "COMMIT"]);
    db.close();
  });

  test("an op that throws after writing leaves none of its writes behind", async () => {
    const { db, queue, labels } = setup();
    const outcomes = await Promise.allSettled([
      queue.submit({ n: 1, label: "before" }),
      queue.submit({ n: 2, label: "half-done", throwAfterInsert: true }),
      queue.submit({ n: 3, label: "after" }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(labels()).toEqual(["before", "after"]);
    db.close();
  });

  test("a UNIQUE violation inside the group fails only the second writer", async () => {
    const { db, queue, labels } = setup();
    const outcomes = await Promise.allSettled([
      queue.submit({ n: 1, label: "same" }),
      queue.submit({ n: 2, label: "same" }),
      queue.submit({ n: 3, label: "other" }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(((outcomes[1] as PromiseRejectedResult).reason as StoreFailure).kind).toBe("integrity");
    expect(labels()).toEqual(["same", "other"]);
    db.close();
  });

  test("every promise settles only after COMMIT: the write is visible and no transaction is open", async () => {
    const { db, queue } = setup();
    const observed: { inTransaction: boolean; count: number }[] = [];
    const count = () => db.query<{ n: number }, []>("SELECT count(*) AS n FROM t").get()!.n;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        queue.submit({ n: i, label: `v${i}` }).then(() => observed.push({ inTransaction: db.inTransaction, count: count() })),
      ),
    );
    expect(observed.length).toBe(20);
    for (const o of observed) expect(o).toEqual({ inTransaction: false, count: 20 });
    db.close();
  });

  test("ops submitted while a group is committing go into a later group, and drain() waits for them", async () => {
    const { db, queue, labels, statements } = setup();
    const first = queue.submit({ n: 1, label: "g1" });
    await first;
    const later = [queue.submit({ n: 2, label: "g2a" }), queue.submit({ n: -5, label: "g2-bad" }), queue.submit({ n: 3, label: "g2b" })];
    later.forEach((p) => p.catch(() => {}));
    await queue.drain();
    expect(labels()).toEqual(["g1", "g2a", "g2b"]);
    expect(statements.filter((s) => s === "COMMIT").length).toBe(2);
    expect(statements.filter((s) => s === "ROLLBACK").length).toBe(1);
    expect((await Promise.allSettled(later)).map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    db.close();
  });

  test("when the group cannot even begin, every op in it is rejected (none left hanging)", async () => {
    const { db, queue, labels } = setup();
    db.exec("BEGIN"); // someone else's open transaction: BEGIN IMMEDIATE inside it fails
    const outcomes = await Promise.allSettled([queue.submit({ n: 1, label: "x" }), queue.submit({ n: 2, label: "y" })]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected"]);
    for (const o of outcomes) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(StoreFailure);
    db.exec("ROLLBACK");
    expect(labels()).toEqual([]);
    // The queue still works afterwards.
    expect(await queue.submit({ n: 3, label: "z" })).toBe("ok:z");
    expect(labels()).toEqual(["z"]);
    db.close();
  });
});

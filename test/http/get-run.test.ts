import { expect } from "bun:test";
import { runScenarios, type Scenario } from "../support/scenarios.ts";
import { makeRun, type TestServer } from "../support/server.ts";

// GET /api/v1/runs/{event_id}, /commit-url and /repo-url; none shadowed by another route.

const RUNS = "/api/v1/runs";
const HASH = "abc1234567890";

/** POSTs one run (asserting 201) and returns its event_id. */
async function create(server: TestServer, overrides: Record<string, unknown> = {}): Promise<string> {
  const run = makeRun(overrides);
  const response = await server.call("POST", RUNS, run);
  expect({ status: response.status, body: await response.json() }).toMatchObject({ status: 201, body: { status: "created" } });
  return run.event_id as string;
}

const withRun = (overrides: Record<string, unknown> = {}) => async (server: TestServer) => ({ id: await create(server, overrides) });

const getRun: Scenario[] = [
  {
    name: "GET /runs/batch when no run is called batch is 404 Run not found: batch (not 405)",
    method: "GET",
    path: `${RUNS}/batch`,
    status: 404,
    json: { detail: "Run not found: batch" },
    after: (_s, body) => expect(body).toEqual({ detail: "Run not found: batch" }),
  },
  {
    name: "returns one RunRecord object (not an array) with the stored fields",
    method: "GET",
    setup: withRun({
      run_id: "run-one",
      agent_name: "seo_intelligence.insight_engine",
      job_type: "insight_generation",
      status: "completed",
      created_at: "2026-01-05T18:40:27.000000+00:00",
      start_time: "2026-01-05T18:40:27.000000+00:00",
      end_time: "2026-01-05T18:45:10-08:00",
      items_discovered: 10,
      metrics_json: { token_count: 2500 },
      context_json: { stage: "final" },
      git_repo: "https://github.com/example/repo",
      git_commit_hash: HASH,
      host: "worker-01",
    }),
    path: (ctx) => `${RUNS}/${ctx.id}`,
    status: 200,
    json: {
      run_id: "run-one",
      agent_name: "seo_intelligence.insight_engine",
      job_type: "insight_generation",
      status: "success",
      created_at: "2026-01-05T18:40:27.000000+00:00",
      start_time: "2026-01-05T18:40:27.000000+00:00",
      end_time: "2026-01-05T18:45:10-08:00",
      items_discovered: 10,
      metrics_json: { token_count: 2500 },
      context_json: { stage: "final" },
      api_posted: false,
      host: "worker-01",
      commit_url: `https://github.com/example/repo/commit/${HASH}`,
      repo_url: "https://github.com/example/repo",
    },
    after: (_s, body, ctx) => {
      expect(Array.isArray(body)).toBe(false);
      expect((body as Record<string, unknown>).event_id).toBe(ctx.id!);
      expect(Number.isInteger((body as Record<string, unknown>).id)).toBe(true);
    },
  },
  {
    name: "matches the same run's item in GET /api/v1/runs",
    method: "GET",
    setup: withRun({ agent_name: `same-${crypto.randomUUID()}`, metrics_json: { a: 1 } }),
    path: (ctx) => `${RUNS}/${ctx.id}`,
    status: 200,
    after: async (server, body, ctx) => {
      const listed = (await (await server.call("GET", `${RUNS}?run_id=${(body as { run_id: string }).run_id}`)).json()) as Record<string, unknown>[];
      expect(listed.find((r) => r.event_id === ctx.id)).toEqual(body as Record<string, unknown>);
    },
  },
  {
    name: "unknown event_id is 404 Run not found: <id>",
    method: "GET",
    path: `${RUNS}/no-such-run`,
    status: 404,
    json: { detail: "Run not found: no-such-run" },
    after: (_s, body) => expect(body).toEqual({ detail: "Run not found: no-such-run" }),
  },
  {
    name: "unknown percent-encoded event_id is reported decoded",
    method: "GET",
    path: `${RUNS}/${encodeURIComponent("has space/and slash")}`,
    status: 404,
    json: { detail: "Run not found: has space/and slash" },
  },
  {
    name: "an event_id with spaces and a slash is fetchable by its encoded path",
    method: "GET",
    setup: withRun({ event_id: "weird id/with slash" }),
    path: (ctx) => `${RUNS}/${encodeURIComponent(ctx.id!)}`,
    status: 200,
    json: { event_id: "weird id/with slash" },
  },
  {
    name: "an event_id literally named batch is fetchable by GET",
    method: "GET",
    setup: withRun({ event_id: "batch", run_id: "the-batch-run" }),
    path: `${RUNS}/batch`,
    status: 200,
    json: { event_id: "batch", run_id: "the-batch-run" },
    after: (_s, body) => expect(Array.isArray(body)).toBe(false),
  },
  {
    name: "PATCH /runs/batch updates the run named batch",
    method: "PATCH",
    path: `${RUNS}/batch`,
    body: { status: "success" },
    status: 200,
    json: { event_id: "batch", updated: true, fields_updated: ["status"] },
    after: async (server) => {
      expect(await (await server.call("GET", `${RUNS}/batch`)).json()).toMatchObject({ event_id: "batch", status: "success" });
    },
  },
  {
    name: "POST /runs/batch is still the batch endpoint when a run is named batch",
    method: "POST",
    path: `${RUNS}/batch`,
    body: () => [makeRun({ run_id: "via-batch" })],
    status: 200,
    json: { inserted: 1, duplicates: 0, errors: [], total: 1 },
  },
  {
    name: "commit-url and repo-url of the run named batch",
    method: "GET",
    path: `${RUNS}/batch/commit-url`,
    status: 200,
    json: { commit_url: null },
    after: async (server) => {
      expect(await (await server.call("GET", `${RUNS}/batch/repo-url`)).json()).toEqual({ repo_url: null });
    },
  },
  {
    name: "event_ids named like sub-routes (commit-url, repo-url, associate-commit) are fetchable",
    method: "GET",
    setup: async (server) => {
      for (const id of ["commit-url", "repo-url", "associate-commit"]) await create(server, { event_id: id, run_id: `run-${id}` });
    },
    path: `${RUNS}/commit-url`,
    status: 200,
    json: { event_id: "commit-url", run_id: "run-commit-url" },
    after: async (server) => {
      expect(await (await server.call("GET", `${RUNS}/repo-url`)).json()).toMatchObject({ event_id: "repo-url" });
      expect(await (await server.call("GET", `${RUNS}/associate-commit`)).json()).toMatchObject({ event_id: "associate-commit" });
      expect(await (await server.call("GET", `${RUNS}/commit-url/repo-url`)).json()).toEqual({ repo_url: null });
    },
  },
];

/** [name, git_repo, git_commit_hash, expected commit_url, expected repo_url] */
const urlCases: [string, string | undefined, string | undefined, string | null, string | null][] = [
  ["GitHub https", "https://github.com/owner/repo", HASH, `https://github.com/owner/repo/commit/${HASH}`, "https://github.com/owner/repo"],
  ["GitHub https with .git and trailing slash", "https://github.com/owner/repo.git/", HASH, `https://github.com/owner/repo/commit/${HASH}`, "https://github.com/owner/repo"],
  ["GitHub scp-style ssh", "git@github.com:owner/repo.git", HASH, `https://github.com/owner/repo/commit/${HASH}`, "https://github.com/owner/repo"],
  ["GitHub upper-case host with www.", "https://WWW.GitHub.com/owner/repo", HASH, `https://github.com/owner/repo/commit/${HASH}`, "https://github.com/owner/repo"],
  ["GitLab nested groups over scp-style ssh", "git@gitlab.com:group/subgroup/deeper/repo.git", HASH, `https://gitlab.com/group/subgroup/deeper/repo/-/commit/${HASH}`, "https://gitlab.com/group/subgroup/deeper/repo"],
  ["GitLab nested groups over ssh:// with a port", "ssh://git@gitlab.com:2222/group/sub/repo.git", HASH, `https://gitlab.com/group/sub/repo/-/commit/${HASH}`, "https://gitlab.com/group/sub/repo"],
  ["GitLab https", "https://gitlab.com/group/repo", HASH, `https://gitlab.com/group/repo/-/commit/${HASH}`, "https://gitlab.com/group/repo"],
  ["Bitbucket https", "https://bitbucket.org/team/repo", HASH, `https://bitbucket.org/team/repo/commits/${HASH}`, "https://bitbucket.org/team/repo"],
  ["Bitbucket scp-style ssh", "git@bitbucket.org:team/repo.git", HASH, `https://bitbucket.org/team/repo/commits/${HASH}`, "https://bitbucket.org/team/repo"],
  ["unsupported (self-hosted) host gives null", "https://git.example.com/owner/repo", HASH, null, null],
  ["host only as a substring gives null", "https://evil.example/github.com/owner/repo", HASH, null, null],
  ["look-alike host gives null", "https://github.com.evil.example/owner/repo", HASH, null, null],
  ["missing hash: commit_url null, repo_url set", "https://github.com/owner/repo", undefined, null, "https://github.com/owner/repo"],
  ["missing repo: both null", undefined, HASH, null, null],
];

const urls: Scenario[] = urlCases.flatMap(([name, gitRepo, hash, commit, repo]): Scenario[] => {
  const fields = { ...(gitRepo === undefined ? {} : { git_repo: gitRepo }), ...(hash === undefined ? {} : { git_commit_hash: hash }) };
  return [
    {
      name: `commit-url: ${name}`,
      method: "GET",
      setup: withRun(fields),
      path: (ctx) => `${RUNS}/${ctx.id}/commit-url`,
      status: 200,
      json: { commit_url: commit },
      after: async (server, body, ctx) => {
        expect(body).toEqual({ commit_url: commit });
        // the derived field on the record agrees with the endpoint
        expect(await (await server.call("GET", `${RUNS}/${ctx.id}`)).json()).toMatchObject({ commit_url: commit, repo_url: repo });
      },
    },
    {
      name: `repo-url: ${name}`,
      method: "GET",
      setup: withRun(fields),
      path: (ctx) => `${RUNS}/${ctx.id}/repo-url`,
      status: 200,
      json: { repo_url: repo },
      after: (_s, body) => expect(body).toEqual({ repo_url: repo }),
    },
  ];
});

const urlErrors: Scenario[] = [
  {
    name: "commit-url of an unknown event_id is 404 Run not found",
    method: "GET",
    path: `${RUNS}/missing-run/commit-url`,
    status: 404,
    json: { detail: "Run not found: missing-run" },
    after: (_s, body) => expect(body).toEqual({ detail: "Run not found: missing-run" }),
  },
  {
    name: "repo-url of an unknown event_id is 404 Run not found",
    method: "GET",
    path: `${RUNS}/missing-run/repo-url`,
    status: 404,
    json: { detail: "Run not found: missing-run" },
    after: (_s, body) => expect(body).toEqual({ detail: "Run not found: missing-run" }),
  },
  {
    name: "commit-url after associate-commit uses the associated hash",
    method: "GET",
    setup: async (server) => {
      const id = await create(server, { git_repo: "git@gitlab.com:a/b/c.git" });
      const response = await server.call("POST", `${RUNS}/${id}/associate-commit`, { commit_hash: "deadbeefcafe", commit_source: "llm" });
      expect(response.status).toBe(200);
      return { id };
    },
    path: (ctx) => `${RUNS}/${ctx.id}/commit-url`,
    status: 200,
    json: { commit_url: "https://gitlab.com/a/b/c/-/commit/deadbeefcafe" },
  },
  {
    name: "credentials in git_repo never appear in repo_url or the record",
    method: "GET",
    setup: withRun({ git_repo: "https://user:s3cr3t-token@github.com/owner/repo.git", git_commit_hash: HASH }),
    path: (ctx) => `${RUNS}/${ctx.id}`,
    status: 200,
    json: { repo_url: "https://github.com/owner/repo", commit_url: `https://github.com/owner/repo/commit/${HASH}` },
    excludes: ["s3cr3t-token", "user:"],
  },
];

runScenarios("GET /api/v1/runs/{event_id}", getRun);
runScenarios("GET /api/v1/runs/{event_id}/commit-url and /repo-url", urls);
runScenarios("commit-url / repo-url errors and details", urlErrors);

import { expect } from "bun:test";
import type { Scenario } from "./scenarios.ts";
import type { TestServer } from "./server.ts";

/** Creates the runs through the batch endpoint (5,000 per request), asserting every one was inserted; returns their event_ids. */
export async function createRuns(server: TestServer, runs: Record<string, unknown>[]): Promise<string[]> {
  for (let i = 0; i < runs.length; i += 5000) {
    const response = await server.call("POST", "/api/v1/runs/batch", runs.slice(i, i + 5000));
    expect(await response.json()).toMatchObject({ inserted: Math.min(5000, runs.length - i) });
  }
  return runs.map((r) => r.event_id as string);
}

/** The list's filter errors, which every route taking its filters (export, stats) must answer the same way. */
export function listFilterErrors(path: string): Scenario[] {
  const join = path.includes("?") ? "&" : "?";
  return [
    {
      name: "an invalid status filter is the list's 400",
      method: "GET",
      path: `${path}${join}status=done`,
      status: 400,
      json: { detail: expect.stringContaining("Invalid status: 'done'") },
    },
    {
      name: "an invalid time filter is the list's 400",
      method: "GET",
      path: `${path}${join}created_before=2026-02-30`,
      status: 400,
      json: { detail: "Invalid ISO8601 timestamp for created_before: '2026-02-30'" },
    },
  ];
}

/** The path of one run, its id percent-encoded. */
export const runPath = (id: string) => `/api/v1/runs/${encodeURIComponent(id)}`;

/** GET `path`, expecting a 200; returns the raw body. */
export async function getText(server: TestServer, path: string): Promise<string> {
  const response = await server.call("GET", path);
  const text = await response.text();
  expect({ path, status: response.status, text }).toMatchObject({ status: 200 });
  return text;
}

/** The run was not stored: GET answers the contract's 404. */
export async function expectAbsent(server: TestServer, id: string): Promise<void> {
  const response = await server.call("GET", runPath(id));
  expect({ id, status: response.status }).toEqual({ id, status: 404 });
  expect(await response.json()).toEqual({ detail: `Run not found: ${id}` });
}

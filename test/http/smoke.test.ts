import { runScenarios } from "../support/scenarios.ts";

runScenarios("smoke", [
  { name: "health answers", method: "GET", path: "/health", status: 200, json: { status: "ok", journal_mode: "WAL", synchronous: "FULL" } },
  { name: "unknown path is 404", method: "GET", path: "/nope", status: 404, json: { detail: "Not Found" } },
]);

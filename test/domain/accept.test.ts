import { expect, test } from "bun:test";
import { metricsFormat } from "../../src/domain/accept.ts";

test.each([
  [null, "json"],
  ["", "json"],
  ["*/*", "json"],
  ["application/json", "json"],
  ["text/plain", "prometheus"],
  ["text/plain;version=0.0.4", "prometheus"],
  ["application/openmetrics-text;version=1.0.0", "prometheus"],
  // What Prometheus 2.x sends when it scrapes.
  ["application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "prometheus"],
  ["application/json, text/plain;q=0.5", "json"],
  ["text/plain;q=0.9, application/json;q=0.8", "prometheus"],
  ["text/plain, application/json", "json"], // a tie keeps the contract's JSON
  ["text/*", "prometheus"],
  ["text/html", "json"],
  ["text/plain;q=0", "json"],
  ["garbage;;,,/", "json"],
] as const)("Accept %p → %s", (accept, expected) => {
  expect(metricsFormat(accept)).toBe(expected);
});

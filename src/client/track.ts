import type { Run, TelemetryClient } from "./client.ts";
import type { StartRunInput } from "./types.ts";

const SUMMARY_CHARS = 1000;
const DETAILS_CHARS = 64 * 1024;

/**
 * Runs `fn` as one run: status running when it starts, success when it resolves, failure (error_summary and
 * error_details) when it throws; the error is rethrown unchanged. The run is started without waiting for the
 * server (unless the client is strict), so telemetry never delays the work.
 */
export async function track<T>(
  client: TelemetryClient,
  agent: string,
  job: string,
  fn: (run: Run) => T | Promise<T>,
  fields: Partial<StartRunInput> = {},
): Promise<T> {
  const { run, sent } = client.beginRun({ ...fields, agent_name: agent, job_type: job });
  if (client.strict) await sent;
  let value: T;
  try {
    value = await fn(run);
  } catch (error) {
    // Even a strict client must not replace the agent's own error with a telemetry one.
    await client.endRun(run, { status: "failure", ...describeFailure(error) }).catch(() => {});
    throw error;
  }
  await client.endRun(run, { status: "success" });
  return value;
}

/** error_summary (first line of `Name: message`) and error_details (the stack) of anything thrown. */
export function describeFailure(error: unknown): { error_summary: string; error_details: string } {
  if (error instanceof Error) {
    const summary = `${error.name}: ${error.message}`.split("\n")[0]!;
    return { error_summary: clip(summary, SUMMARY_CHARS), error_details: clip(error.stack ?? summary, DETAILS_CHARS) };
  }
  let text: string;
  try {
    text = typeof error === "string" ? error : (JSON.stringify(error) ?? String(error));
  } catch {
    text = String(error);
  }
  return { error_summary: clip(text.split("\n")[0]!, SUMMARY_CHARS), error_details: clip(text, DETAILS_CHARS) };
}

/**
 * At most `max` characters of `text`, its start or its end, marked with … where cut; never half a surrogate pair,
 * and lone surrogates become U+FFFD, since the server refuses text that is not well-formed Unicode.
 */
export function clip(text: string, max: number, keep: "start" | "end" = "start"): string {
  if (text.length <= max) return text.toWellFormed();
  if (keep === "start") {
    let end = max - 1;
    if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
    return `${text.slice(0, end)}…`.toWellFormed();
  }
  let start = text.length - max + 1;
  if (isHighSurrogate(text.charCodeAt(start - 1))) start++;
  return `…${text.slice(start)}`.toWellFormed();
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

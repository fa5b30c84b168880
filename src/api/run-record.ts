import { commitUrl, repoUrl } from "../domain/git-urls.ts";
import { locateJsonSyntaxError } from "../domain/json-error.ts";
import type { RunRow } from "../store/columns.ts";

/**
 * A stored row as the contract's RunRecord: every column in table order, api_posted as a boolean,
 * metrics_json / context_json parsed (or kept raw beside a *_parse_error), then the derived URLs.
 */
export function toRunRecord(row: RunRow): Record<string, unknown> {
  const record: Record<string, unknown> = { ...row };
  if (row.api_posted !== null && row.api_posted !== undefined) record.api_posted = row.api_posted !== 0;
  for (const field of ["metrics_json", "context_json"] as const) {
    const text = row[field];
    if (typeof text !== "string") continue;
    try {
      record[field] = JSON.parse(text);
    } catch {
      record[`${field}_parse_error`] = pythonStyleJsonError(text);
    }
  }
  record.commit_url = commitUrl(row.git_repo as string | null, row.git_commit_hash as string | null);
  record.repo_url = repoUrl(row.git_repo as string | null);
  return record;
}

/** Python's json error text ("Expecting value: line 1 column 1 (char 0)"), which reference clients may already match on. */
function pythonStyleJsonError(text: string): string {
  const located = locateJsonSyntaxError(text) ?? { offset: 0, message: "Invalid JSON" };
  const before = text.slice(0, located.offset);
  const line = before.split("\n").length;
  const column = located.offset - before.lastIndexOf("\n");
  return `${located.message}: line ${line} column ${column} (char ${located.offset})`;
}

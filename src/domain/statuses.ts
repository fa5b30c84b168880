/** The only status values ever stored or returned. */
export const CANONICAL_STATUSES = ["running", "success", "failure", "partial", "timeout", "cancelled"] as const;
export type RunStatus = (typeof CANONICAL_STATUSES)[number];

/** Legacy spellings that older agents still send; normalised before storage and filtering. */
export const STATUS_ALIASES: Readonly<Record<string, RunStatus>> = Object.freeze({
  failed: "failure",
  completed: "success",
  succeeded: "success",
});

const canonical = new Set<string>(CANONICAL_STATUSES);

/** Canonical status for a canonical value or an alias; null for anything else (matching is exact, case-sensitive, as in the reference). */
export function normalizeStatus(value: string): RunStatus | null {
  if (canonical.has(value)) return value as RunStatus;
  return Object.hasOwn(STATUS_ALIASES, value) ? STATUS_ALIASES[value]! : null;
}

export const STATUS_RULE_MESSAGE =
  `Status must be one of: ${CANONICAL_STATUSES.join(", ")} ` +
  `(aliases: ${Object.entries(STATUS_ALIASES).map(([a, c]) => `${a}→${c}`).join(", ")})`;

export const COMMIT_SOURCES = ["manual", "llm", "ci"] as const;
export type CommitSource = (typeof COMMIT_SOURCES)[number];

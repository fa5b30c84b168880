/** How a storage failure should reach a client; the HTTP layer turns each kind into a status code. */
export type StoreFailureKind = "integrity" | "busy" | "unavailable" | "internal";

export class StoreFailure extends Error {
  constructor(
    readonly kind: StoreFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreFailure";
  }
}

/** Maps a bun:sqlite error to a client-safe failure: the message never carries SQL or file paths. */
export function classifyStoreError(error: unknown): StoreFailure {
  if (error instanceof StoreFailure) return error;
  const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : "";
  if (code.startsWith("SQLITE_CONSTRAINT")) {
    return new StoreFailure("integrity", "Database integrity error: the run violates a table constraint", { cause: error });
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new StoreFailure("busy", "Database is locked by another process; retry shortly", { cause: error });
  }
  if (code.startsWith("SQLITE_FULL") || code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_CANTOPEN")) {
    return new StoreFailure("unavailable", "Database storage is unavailable (disk full, read-only or missing); retry later", { cause: error });
  }
  return new StoreFailure("internal", "Internal database error", { cause: error });
}

import type { StoreOptions } from "./connection.ts";
import { StoreFailure } from "./errors.ts";
import type { WriteOp } from "./run-writer.ts";
import type { FromWriter, ToWriter } from "./writer-protocol.ts";

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Where a worker module of src/store/ (`writer-worker.ts`, `backup-worker.ts`) is: beside this file in a source
 * checkout; in the compiled executable, this code is inlined into the entry bundle at the virtual root and
 * build.ts embeds each worker (an entrypoint of its own) at its path below src/.
 */
export function storeWorkerModule(file: string): string {
  const compiled = import.meta.url.includes("/$bunfs/");
  return new URL(compiled ? `./store/${file}` : `./${file}`, import.meta.url).href;
}

/** The server thread's handle on the writer thread: every write is a message, every answer a settled promise. */
export class WriterClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: StoreFailure | null = null;
  private closed: (() => void) | null = null;
  /** Why the last write failed for lack of storage, until a write succeeds again. */
  private degradedBy: string | null = null;

  /** `identity` names the database file the server thread opened and migrated (see fileIdentity). */
  constructor(
    options: StoreOptions,
    identity: string | null,
    private readonly onGroup: (size: number) => void,
  ) {
    this.worker = new Worker(storeWorkerModule("writer-worker.ts"));
    this.worker.onmessage = (event: MessageEvent<FromWriter>) => this.receive(event.data);
    this.worker.onerror = (event) => this.fail(new StoreFailure("internal", `Database writer stopped: ${event.message}`));
    this.send({ type: "open", options, identity });
  }

  submit(op: WriteOp): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type: "op", id, op });
    });
  }

  /** Null while writes work; otherwise why the last one could not be stored (it clears on the next success). */
  get degraded(): string | null {
    return this.failure?.message ?? this.degradedBy;
  }

  /** Resolves once the writer has committed everything sent before, checkpointed and closed. */
  close(): Promise<void> {
    if (this.failure) {
      this.worker.terminate();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.closed = resolve;
      this.send({ type: "close" });
    }).then(() => this.worker.terminate());
  }

  private send(message: ToWriter): void {
    this.worker.postMessage(message);
  }

  private receive(message: FromWriter): void {
    switch (message.type) {
      case "result": {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.ok) {
          this.degradedBy = null;
          waiter?.resolve(message.value);
        } else {
          if (message.kind === "unavailable" || message.kind === "busy") this.degradedBy = message.message;
          waiter?.reject(new StoreFailure(message.kind, message.message, { cause: message.cause }));
        }
        return;
      }
      case "group":
        this.onGroup(message.size);
        return;
      case "closed":
        this.closed?.();
        return;
      case "fatal":
        this.fail(new StoreFailure("unavailable", message.message));
        return;
    }
  }

  private fail(failure: StoreFailure): void {
    this.failure = failure;
    for (const waiter of this.pending.values()) waiter.reject(failure);
    this.pending.clear();
    this.closed?.();
  }
}

// The writer thread: owns the only write connection, so SQLite's fsync at COMMIT blocks this thread,
// never the one answering HTTP requests. Messages that arrive during a commit form the next group.
import { openConnection } from "./connection.ts";
import { classifyStoreError } from "./errors.ts";
import { RunWriter } from "./run-writer.ts";
import type { FromWriter, ToWriter } from "./writer-protocol.ts";

declare const self: Worker;
const reply = (message: FromWriter) => self.postMessage(message);
let writer: RunWriter | undefined;

self.onmessage = (event: MessageEvent<ToWriter>) => {
  const message = event.data;
  switch (message.type) {
    case "open":
      try {
        writer = new RunWriter(openConnection(message.options, "writer"), message.options.path, message.identity, (size) =>
          reply({ type: "group", size }),
        );
      } catch (error) {
        reply({ type: "fatal", message: classifyStoreError(error).message });
      }
      return;
    case "op":
      if (!writer) {
        reply({ type: "result", id: message.id, ok: false, kind: "unavailable", message: "Database writer is not open" });
        return;
      }
      writer.submit(message.op).then(
        (value) => reply({ type: "result", id: message.id, ok: true, value }),
        (error) => {
          const failure = classifyStoreError(error);
          const cause = failure.cause === undefined ? undefined : String(failure.cause);
          reply({ type: "result", id: message.id, ok: false, kind: failure.kind, message: failure.message, cause });
        },
      );
      return;
    case "close":
      (writer?.close() ?? Promise.resolve()).finally(() => reply({ type: "closed" }));
      return;
  }
};

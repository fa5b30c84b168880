import type { Subprocess } from "bun";

export type Spawned = Subprocess<"ignore", "pipe", "pipe">;

/** Reads the child's stdout until its JSON "listening" line and returns the URL it reports. */
export async function waitForListening(child: Spawned): Promise<string> {
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`server exited before listening: ${await new Response(child.stderr).text()}`);
    buffered += decoder.decode(value, { stream: true });
    for (const line of buffered.split("\n")) {
      if (!line.startsWith("{")) continue;
      const entry = JSON.parse(line) as { message?: string; url?: string };
      if (entry.message === "listening" && entry.url) {
        reader.releaseLock();
        // Keep draining so a chatty server never blocks on a full pipe.
        void child.stdout.pipeTo(new WritableStream());
        return entry.url.replace("0.0.0.0", "127.0.0.1").replace(/\/$/, "");
      }
    }
  }
}

import { locateJsonSyntaxError } from "../domain/json-error.ts";
import { firstInvalidUtf8Byte } from "../domain/utf8.ts";
import { HttpError, validationError } from "./responses.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads at most `limit` bytes within `timeoutMs`. A declared Content-Length over the limit is refused before
 * anything is read; a chunked body is counted as it streams and abandoned as soon as it crosses the limit;
 * a client too slow to finish gets a 408 instead of holding the request open.
 */
export async function readBodyLimited(request: Request, limit: number, setting: string, timeoutMs: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw new HttpError(413, `Request body too large: the limit is ${limit} bytes (${setting})`);
  if (!request.body) return new Uint8Array(0);
  let timer: Timer | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(408, `Request body not received within ${timeoutMs} ms`)), timeoutMs);
  });
  const reading = declared !== null ? request.arrayBuffer().then((b) => new Uint8Array(b)) : readStream(request.body, limit, setting);
  // If the deadline wins, the abandoned read may still fail later; that failure must not go unhandled.
  reading.catch(() => {});
  try {
    return await Promise.race([reading, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function readStream(body: ReadableStream<Uint8Array>, limit: number, setting: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new HttpError(413, `Request body too large: the limit is ${limit} bytes (${setting})`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** Decodes and parses a JSON body the way FastAPI reports failures: 422 `missing` or `json_invalid` with a char offset. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  if (bytes.length === 0) {
    throw validationError([{ type: "missing", loc: ["body"], msg: "Field required", input: null }]);
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    const bad = firstInvalidUtf8Byte(bytes);
    const offset = bad < 0 ? 0 : new TextDecoder().decode(bytes.subarray(0, bad)).length;
    throw jsonInvalid(offset, "Invalid UTF-8 byte sequence");
  }
  try {
    return JSON.parse(text);
  } catch {
    const located = locateJsonSyntaxError(text);
    throw jsonInvalid(located?.offset ?? 0, located?.message ?? "Invalid JSON");
  }
}

function jsonInvalid(offset: number, message: string): HttpError {
  return validationError([{ type: "json_invalid", loc: ["body", offset], msg: "JSON decode error", input: {}, ctx: { error: message } }]);
}

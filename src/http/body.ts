import { locateJsonSyntaxError } from "../domain/json-error.ts";
import { firstInvalidUtf8Byte } from "../domain/utf8.ts";
import { HttpError, validationError } from "./responses.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads at most `limit` bytes. A declared Content-Length over the limit is refused before anything is
 * read; a chunked body is counted as it streams and abandoned as soon as it crosses the limit.
 */
export async function readBodyLimited(request: Request, limit: number, setting: string): Promise<Uint8Array> {
  const tooLarge = () => new HttpError(413, `Request body too large: the limit is ${limit} bytes (${setting})`);
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
  if (declared !== null) return new Uint8Array(await request.arrayBuffer());

  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
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

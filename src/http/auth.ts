import { timingSafeEqual } from "node:crypto";
import { HttpError } from "./responses.ts";

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

function digest(text: string): Buffer {
  return Buffer.from(new Bun.CryptoHasher("sha256").update(text).digest());
}

/**
 * Checks `Authorization: Bearer <token>`. Both sides are hashed first so the comparison takes the same
 * time whatever the length or content of the guess.
 */
export function createBearerAuth(token: string): (request: Request) => void {
  const expected = digest(token);
  return (request) => {
    const match = BEARER.exec(request.headers.get("authorization") ?? "");
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      const detail = match ? "Invalid authentication token" : "Missing or malformed Authorization header; expected 'Bearer <token>'";
      throw new HttpError(401, detail, { "www-authenticate": "Bearer" });
    }
  };
}

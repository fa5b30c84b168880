/**
 * Locating JSON syntax errors the way Python's `json.loads` reports them.
 *
 * FastAPI answers a malformed JSON body with
 * `{"type":"json_invalid","loc":["body", e.pos],"ctx":{"error": e.msg}, ...}` where `e` is the
 * `json.JSONDecodeError` raised by CPython's json module. `JSON.parse` in Bun does not expose a usable
 * position, so this module re-scans the text with a small validator that mirrors the C scanner of
 * CPython 3.11 (Modules/_json.c: scan_once_unicode, scanstring_unicode, _parse_object_unicode,
 * _parse_array_unicode, _match_number_unicode, plus JSONDecoder.decode/raw_decode and json.loads in
 * Lib/json). CPython uses the C scanner whenever `_json` is available, so its messages win over the
 * pure-Python fallback (which words a few of them differently, e.g. "Invalid \\escape: 'x'").
 *
 * Only the error path uses this, but it is still linear in the input and never recurses: nesting is
 * tracked with an explicit stack, so hostile bodies nested 100k+ levels deep are fine.
 *
 * Deliberate or known differences from CPython:
 * - `NaN`, `Infinity` and `-Infinity` are accepted by Python but are not JSON (RFC 8259) and are
 *   rejected by `JSON.parse`; they are reported as "Expecting value" at the first character of the token.
 * - Python raises `RecursionError` (not `JSONDecodeError`) for very deep nesting; here the syntax error
 *   that a recursion-unlimited CPython would find is reported instead.
 * - CPython 3.13 added "Illegal trailing comma before end of array/object" (reported at the comma).
 *   This module reproduces 3.11/3.12: `[1,]` is "Expecting value" at the `]`, `{"a":1,}` is
 *   "Expecting property name enclosed in double quotes" at the `}`.
 * - Offsets are UTF-16 code-unit indices into `text`. Python reports code-point indices; the two agree
 *   whenever everything before the error is in the Basic Multilingual Plane (each astral character
 *   before the error shifts the offset by one).
 */

export type JsonSyntaxError = { offset: number; message: string };

const MSG_EXPECTING_VALUE = "Expecting value";
const MSG_PROPERTY_NAME = "Expecting property name enclosed in double quotes";
const MSG_COLON = "Expecting ':' delimiter";
const MSG_COMMA = "Expecting ',' delimiter";
const MSG_UNTERMINATED = "Unterminated string starting at";
const MSG_CONTROL_CHAR = "Invalid control character at";
const MSG_BAD_ESCAPE = "Invalid \\escape";
const MSG_BAD_UNICODE_ESCAPE = "Invalid \\uXXXX escape";
const MSG_EXTRA_DATA = "Extra data";
const MSG_BOM = "Unexpected UTF-8 BOM (decode using utf-8-sig)";

// Character codes.
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22; // "
const PLUS = 0x2b; // +
const COMMA = 0x2c; // ,
const MINUS = 0x2d; // -
const DOT = 0x2e; // .
const SLASH = 0x2f; // /
const ZERO = 0x30;
const ONE = 0x31;
const NINE = 0x39;
const COLON = 0x3a; // :
const UPPER_E = 0x45;
const LBRACKET = 0x5b; // [
const BACKSLASH = 0x5c; // \
const RBRACKET = 0x5d; // ]
const LOWER_B = 0x62;
const LOWER_E = 0x65;
const LOWER_F = 0x66;
const LOWER_N = 0x6e;
const LOWER_R = 0x72;
const LOWER_T = 0x74;
const LOWER_U = 0x75;
const LBRACE = 0x7b; // {
const RBRACE = 0x7d; // }
const BOM = 0xfeff;

/** Container kinds kept on the explicit nesting stack. */
const IN_ARRAY = 0;
const IN_OBJECT = 1;

/** Either the index just past a successfully scanned token, or the error found while scanning it. */
type Scan = number | JsonSyntaxError;

function fail(offset: number, message: string): JsonSyntaxError {
  return { offset, message };
}

/** JSON whitespace only (Python's IS_WHITESPACE / WHITESPACE regex): space, tab, LF, CR. */
function isWhitespace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR;
}

/** `charCodeAt` past the end yields NaN, which compares false with everything below. */
function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isHexDigit(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function skipWhitespace(text: string, i: number): number {
  const n = text.length;
  while (i < n && isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

/**
 * Scans a string whose opening quote is at `quote` (scanstring_unicode, strict=True).
 * Returns the index after the closing quote.
 */
function scanString(text: string, quote: number): Scan {
  const n = text.length;
  let i = quote + 1;
  for (;;) {
    if (i >= n) return fail(quote, MSG_UNTERMINATED);
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      const escapeChar = i + 1;
      if (escapeChar >= n) return fail(quote, MSG_UNTERMINATED);
      const e = text.charCodeAt(escapeChar);
      if (e === LOWER_U) {
        // CPython: `end = next + 4; if (end >= len) error at next - 1` where `next` is just past the `u`,
        // i.e. the error offset is the `u` itself (backslash + 1), and it also demands at least one more
        // character after the four hex digits: an input that ends as `"\u0041` is reported as an invalid
        // \uXXXX escape, not as an unterminated string. A non-hex digit is reported at `end - 5`, again
        // the `u`. The pure-Python fallback (_decode_uXXXX) agrees on the `u` offset.
        const digitsEnd = escapeChar + 5;
        if (digitsEnd >= n) return fail(escapeChar, MSG_BAD_UNICODE_ESCAPE);
        for (let k = escapeChar + 1; k < digitsEnd; k++) {
          if (!isHexDigit(text.charCodeAt(k))) return fail(escapeChar, MSG_BAD_UNICODE_ESCAPE);
        }
        // A high surrogate followed by a second \uXXXX is decoded as a pair by CPython; an invalid
        // second escape is then reported at its own `u`, which is what scanning it separately yields.
        i = digitsEnd;
        continue;
      }
      if (
        e === QUOTE || e === BACKSLASH || e === SLASH ||
        e === LOWER_B || e === LOWER_F || e === LOWER_N || e === LOWER_R || e === LOWER_T
      ) {
        i = escapeChar + 1;
        continue;
      }
      // CPython reports `end - 2` with `end` two past the backslash: the backslash itself.
      return fail(i, MSG_BAD_ESCAPE);
    }
    if (c <= 0x1f) return fail(i, MSG_CONTROL_CHAR);
    i++;
  }
}

/**
 * Matches a number at `start` (_match_number_unicode): `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`,
 * greedy with backtracking, so `1.` or `1e` match just `1` and the caller then trips over the rest.
 * Returns the end index, or null when there is no number at all (Python's StopIteration → "Expecting value").
 */
function matchNumber(text: string, start: number): number | null {
  let i = start;
  if (text.charCodeAt(i) === MINUS) i++;
  const first = text.charCodeAt(i);
  if (first >= ONE && first <= NINE) {
    i++;
    while (isDigit(text.charCodeAt(i))) i++;
  } else if (first === ZERO) {
    i++;
  } else {
    return null;
  }
  if (text.charCodeAt(i) === DOT && isDigit(text.charCodeAt(i + 1))) {
    i += 2;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === LOWER_E || e === UPPER_E) {
    let j = i + 1;
    const sign = text.charCodeAt(j);
    if (sign === PLUS || sign === MINUS) j++;
    if (isDigit(text.charCodeAt(j))) {
      while (isDigit(text.charCodeAt(j))) j++;
      i = j;
    }
  }
  return i;
}

/**
 * Scans one scalar (string, literal or number) at `i`, which is known not to start a container.
 * `NaN`, `Infinity` and `-Infinity` fall through to the number matcher and fail as "Expecting value".
 */
function scanScalar(text: string, i: number): Scan {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return scanString(text, i);
  if (c === LOWER_N && text.startsWith("null", i)) return i + 4;
  if (c === LOWER_T && text.startsWith("true", i)) return i + 4;
  if (c === LOWER_F && text.startsWith("false", i)) return i + 5;
  const end = matchNumber(text, i);
  return end === null ? fail(i, MSG_EXPECTING_VALUE) : end;
}

/**
 * Scans an object key at `i` (the position where `"` is required) and the `:` after it.
 * Returns the index of the value that follows (whitespace skipped).
 */
function scanKeyAndColon(text: string, i: number): Scan {
  if (text.charCodeAt(i) !== QUOTE) return fail(i, MSG_PROPERTY_NAME);
  const afterKey = scanString(text, i);
  if (typeof afterKey !== "number") return afterKey;
  const colon = skipWhitespace(text, afterKey);
  if (text.charCodeAt(colon) !== COLON) return fail(colon, MSG_COLON);
  return skipWhitespace(text, colon + 1);
}

/**
 * Locates the first syntax error the way Python's json module reports it (`JSONDecodeError.pos` and
 * `.msg` of `json.loads(text)`, CPython 3.11 C scanner, strict=True). Call only after JSON.parse failed;
 * returns null if it finds no error.
 *
 * `text` is the already-decoded string. Offsets are in UTF-16 code units, which equal Python's
 * code-point offsets for BMP text; every astral character (surrogate pair) before the error makes the
 * offset one larger than Python's.
 *
 * Runs in linear time with an explicit stack (no recursion), so arbitrarily deep nesting is safe.
 */
export function locateJsonSyntaxError(text: string): JsonSyntaxError | null {
  const n = text.length;
  // json.loads(str) rejects a leading BOM before scanning. (For bytes it would decode with utf-8-sig
  // and strip the BOM instead; callers that want that behaviour should strip it before parsing.)
  if (n > 0 && text.charCodeAt(0) === BOM) return fail(0, MSG_BOM);

  const stack: number[] = [];
  let i = skipWhitespace(text, 0);

  for (;;) {
    // --- A value is expected at `i`. ---
    const c = text.charCodeAt(i);
    if (c === LBRACKET) {
      i = skipWhitespace(text, i + 1);
      if (text.charCodeAt(i) !== RBRACKET) {
        stack.push(IN_ARRAY);
        continue; // first element
      }
      i++; // empty array
    } else if (c === LBRACE) {
      i = skipWhitespace(text, i + 1);
      if (text.charCodeAt(i) !== RBRACE) {
        const value = scanKeyAndColon(text, i);
        if (typeof value !== "number") return value;
        stack.push(IN_OBJECT);
        i = value;
        continue; // first member's value
      }
      i++; // empty object
    } else {
      // Also covers i >= n: charCodeAt is NaN, nothing matches, "Expecting value" at i.
      const end = scanScalar(text, i);
      if (typeof end !== "number") return end;
      i = end;
    }

    // --- A value just ended at `i`: close containers until one wants another value. ---
    for (;;) {
      const top = stack.at(-1);
      if (top === undefined) {
        // JSONDecoder.decode: trailing whitespace is fine, anything else is "Extra data".
        i = skipWhitespace(text, i);
        return i === n ? null : fail(i, MSG_EXTRA_DATA);
      }
      i = skipWhitespace(text, i);
      const d = text.charCodeAt(i);
      if (top === IN_ARRAY) {
        if (d === RBRACKET) {
          stack.pop();
          i++;
          continue;
        }
        if (d !== COMMA) return fail(i, MSG_COMMA);
        i = skipWhitespace(text, i + 1);
        break; // next element
      }
      if (d === RBRACE) {
        stack.pop();
        i++;
        continue;
      }
      if (d !== COMMA) return fail(i, MSG_COMMA);
      const value = scanKeyAndColon(text, skipWhitespace(text, i + 1));
      if (typeof value !== "number") return value;
      i = value;
      break; // next member's value
    }
  }
}

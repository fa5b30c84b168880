import { describe, expect, test } from "bun:test";
import { locateJsonSyntaxError } from "../../src/domain/json-error.ts";

const EXPECTING_VALUE = "Expecting value";
const PROPERTY_NAME = "Expecting property name enclosed in double quotes";
const COLON = "Expecting ':' delimiter";
const COMMA = "Expecting ',' delimiter";
const UNTERMINATED = "Unterminated string starting at";
const CONTROL = "Invalid control character at";
const BAD_ESCAPE = "Invalid \\escape";
const BAD_UNICODE_ESCAPE = "Invalid \\uXXXX escape";
const EXTRA = "Extra data";

const DEPTH = 200_000;

/**
 * [description, input, expected offset, expected message]. Offsets and messages are what CPython 3.11's
 * `json.loads(input)` reports as JSONDecodeError.pos / .msg, except where noted (NaN/Infinity, which
 * Python accepts, and astral characters, where Python counts code points instead of UTF-16 units).
 */
const CASES: ReadonlyArray<readonly [string, string, number, string]> = [
  // Expecting value
  ["empty string", "", 0, EXPECTING_VALUE],
  ["whitespace only", " \t\r\n", 4, EXPECTING_VALUE],
  ["trailing comma in array", "[1,]", 3, EXPECTING_VALUE],
  ["trailing comma in array with whitespace", "[1, 2 , ]", 8, EXPECTING_VALUE],
  ["missing member value", '{"a":}', 5, EXPECTING_VALUE],
  ["truncated literal", "tru", 0, EXPECTING_VALUE],
  ["truncated literal inside array", "[nul]", 1, EXPECTING_VALUE],
  ["bare word", "hello", 0, EXPECTING_VALUE],
  ["capitalised literal", "True", 0, EXPECTING_VALUE],
  ["lone closing brace", "}", 0, EXPECTING_VALUE],
  ["lone closing bracket", "]", 0, EXPECTING_VALUE],
  ["unterminated empty array", "[", 1, EXPECTING_VALUE],
  ["double comma in array", "[1,,2]", 3, EXPECTING_VALUE],
  ["double colon", '{"a"::1}', 5, EXPECTING_VALUE],
  ["single-quoted value", "{\"a\":'b'}", 5, EXPECTING_VALUE],
  ["error deep inside", '{"a" : [1, {"b": tru}]}', 17, EXPECTING_VALUE],
  ["non-breaking space is not whitespace", "\u00a0{}", 0, EXPECTING_VALUE],
  // Numbers
  ["lone minus", "-", 0, EXPECTING_VALUE],
  ["minus inside array", "[-]", 1, EXPECTING_VALUE],
  ["leading dot", ".5", 0, EXPECTING_VALUE],
  ["leading plus", "+1", 0, EXPECTING_VALUE],
  ["leading zero", "01", 1, EXTRA],
  ["leading zero in array", "[01]", 2, COMMA],
  ["negative leading zero in array", "[-01]", 3, COMMA],
  ["trailing dot", "1.", 1, EXTRA],
  ["dangling exponent", "1e", 1, EXTRA],
  ["dangling signed exponent", "1.5e+", 3, EXTRA],
  ["hex number", "0x10", 1, EXTRA],
  // NaN / Infinity: Python accepts them, RFC 8259 and JSON.parse do not → reported at the token.
  ["NaN", "NaN", 0, EXPECTING_VALUE],
  ["Infinity", "Infinity", 0, EXPECTING_VALUE],
  ["-Infinity in array", "[1, -Infinity]", 4, EXPECTING_VALUE],
  ["NaN as member value", '{"x": NaN}', 6, EXPECTING_VALUE],
  // Objects
  ["unquoted key", "{bad", 1, PROPERTY_NAME],
  ["single-quoted key", "{'a':1}", 1, PROPERTY_NAME],
  ["numeric key", "{1:2}", 1, PROPERTY_NAME],
  ["unterminated empty object", "{", 1, PROPERTY_NAME],
  ["trailing comma in object", '{"a":1,}', 7, PROPERTY_NAME],
  ["trailing comma in object with whitespace", '{"a":1 , }', 9, PROPERTY_NAME],
  ["double comma in object", '{"a":1,,}', 7, PROPERTY_NAME],
  ["missing colon", '{"a" 1}', 5, COLON],
  ["key at end of input", '{"a"', 4, COLON],
  ["equals instead of colon", '{"a"=1}', 4, COLON],
  ["missing comma between members", '{"a":1 "b":2}', 7, COMMA],
  ["unterminated object after value", '{"a":1', 6, COMMA],
  ["object closed with bracket", '{"a":1]', 6, COMMA],
  // Arrays
  ["missing comma between elements", "[1 2]", 3, COMMA],
  ["unterminated array after value", "[1", 2, COMMA],
  ["array closed with brace", "[1}", 2, COMMA],
  // Strings
  ["unterminated string", '"abc', 0, UNTERMINATED],
  ["unterminated string inside object", '{"a":"abc', 5, UNTERMINATED],
  ["unterminated key", '{"ab', 1, UNTERMINATED],
  ["backslash at end of input", '"abc\\', 0, UNTERMINATED],
  ["invalid escape", '{"a":"b\\x"}', 7, BAD_ESCAPE],
  ["invalid escape in key", '{"\\x": 1}', 2, BAD_ESCAPE],
  ["single-quote escape", '"\\\'"', 1, BAD_ESCAPE],
  ["escaped raw newline", '"\\\n"', 1, BAD_ESCAPE],
  ["short \\u escape", '"\\u12"', 2, BAD_UNICODE_ESCAPE],
  ["non-hex \\u escape", '["\\uZZZZ"]', 3, BAD_UNICODE_ESCAPE],
  ["\\u escape with 0x", '"\\u0x12"', 2, BAD_UNICODE_ESCAPE],
  ["\\u escape at end of input", '"\\u0041', 2, BAD_UNICODE_ESCAPE],
  ["bad low half of surrogate pair", '"\\ud800\\uZZZZ"', 8, BAD_UNICODE_ESCAPE],
  ["raw control character", '"a\u0001b"', 2, CONTROL],
  ["raw NUL", '["\u0000"]', 2, CONTROL],
  ["raw newline in string", '["a\nb"]', 3, CONTROL],
  ["raw tab in string", '"\t"', 1, CONTROL],
  ["control character before missing quote", '"ab\u001f', 3, CONTROL],
  // Extra data
  ["two top-level values", "[1,2] 3", 6, EXTRA],
  ["two top-level objects", "{} {}", 3, EXTRA],
  ["extra closing bracket", "[1]]", 3, EXTRA],
  ["literal followed by garbage", "nullx", 4, EXTRA],
  ["two strings", '"a""b"', 3, EXTRA],
  ["vertical tab is not whitespace", '{"a":1}\u000b', 7, EXTRA],
  // Misc
  ["UTF-8 BOM (json.loads on str)", "\ufeff{}", 0, "Unexpected UTF-8 BOM (decode using utf-8-sig)"],
  // Python would say 2: the emoji is one code point but two UTF-16 code units.
  ["astral character before the error", '"\u{1F600}\u0001"', 3, CONTROL],
  // Deep nesting must not recurse.
  ["deeply nested unterminated arrays", "[".repeat(DEPTH), DEPTH, EXPECTING_VALUE],
  ["deeply nested unterminated objects", '{"a":'.repeat(DEPTH), 5 * DEPTH, EXPECTING_VALUE],
  [
    "deeply nested arrays closed with a brace",
    "[".repeat(DEPTH) + "]".repeat(DEPTH - 1) + "}",
    2 * DEPTH - 1,
    COMMA,
  ],
  ["deeply nested arrays with extra close", "[".repeat(DEPTH) + "]".repeat(DEPTH + 1), 2 * DEPTH, EXTRA],
];

describe("locateJsonSyntaxError", () => {
  test("table has at least 30 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  for (const [name, input, offset, message] of CASES) {
    test(`${name}: ${message} at ${offset}`, () => {
      expect(() => JSON.parse(input)).toThrow(SyntaxError);
      expect(locateJsonSyntaxError(input)).toEqual({ offset, message });
    });
  }

  const VALID = [
    "0",
    "-0",
    "-0.0e-0",
    "1E+10",
    "123.456e789",
    "true",
    "false",
    "null",
    '""',
    '"plain"',
    '"esc \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00 \\ud800"',
    '"raw \u00e9 \u{1F600} \u007f \u2028"',
    "[]",
    "{}",
    " \t\r\n[ ] \t\r\n",
    "[1, 2.5, -3e-2, true, false, null, \"x\", [], {}]",
    '{"a": 1, "b": [true, {"c": null}], "": "", "a": 2}',
    '{ "nested" : { "deeper" : [ [ [ { } ] ] ] } }',
    '{"k":"v","n":[-1,0,1],"o":{"p":{"q":"r"}}}',
    "[".repeat(DEPTH) + "]".repeat(DEPTH),
    '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000),
    JSON.stringify({ id: 42, tags: ["x", "y"], meta: { ok: true, ratio: 0.25, when: "2024-01-01T00:00:00Z" } }),
  ];

  test("returns null for valid JSON (which JSON.parse accepts)", () => {
    for (const text of VALID) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(locateJsonSyntaxError(text)).toBeNull();
    }
  });

  test("returns null for JSON.stringify output of generated values", () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const gen = (depth: number): unknown => {
      switch (depth > 4 ? rand(4) : rand(6)) {
        case 0:
          return rand(2) === 0 ? null : rand(2) === 0;
        case 1:
          return (rand(2000) - 1000) / (rand(9) + 1);
        case 2:
          return String.fromCharCode(...Array.from({ length: rand(6) }, () => rand(0x3000)));
        case 3:
          return rand(1000);
        case 4:
          return Array.from({ length: rand(5) }, () => gen(depth + 1));
        default:
          return Object.fromEntries(Array.from({ length: rand(5) }, (_, k) => [`k${k}\u0001"`, gen(depth + 1)]));
      }
    };
    for (let k = 0; k < 300; k++) {
      const text = JSON.stringify(gen(0), null, k % 3 === 0 ? 2 : undefined);
      expect(() => JSON.parse(text)).not.toThrow();
      expect(locateJsonSyntaxError(text)).toBeNull();
    }
  });
});

import { expect, test } from "bun:test";
import { firstInvalidUtf8Byte } from "../../src/domain/utf8.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

test.each([
  ["ascii", new TextEncoder().encode('{"a":"b"}'), -1],
  ["2, 3 and 4 byte sequences", new TextEncoder().encode("é€😀"), -1],
  ["lone continuation byte", bytes(0x41, 0x80), 1],
  ["invalid lead byte 0xff", bytes(0x41, 0x42, 0xff), 2],
  ["overlong encoding of '/'", bytes(0xc0, 0xaf), 0],
  ["overlong 3-byte", bytes(0xe0, 0x80, 0xaf), 0],
  ["UTF-16 surrogate encoded as UTF-8", bytes(0x61, 0xed, 0xa0, 0x80), 1],
  ["above U+10FFFF", bytes(0xf4, 0x90, 0x80, 0x80), 0],
  ["truncated sequence at the end", bytes(0x61, 0xe2, 0x82), 1],
  ["sequence cut by ASCII", bytes(0xe2, 0x41, 0x41), 0],
] as const)("%s", (_name, input, expected) => {
  expect(firstInvalidUtf8Byte(input)).toBe(expected);
});

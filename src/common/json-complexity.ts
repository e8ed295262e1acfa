import { JsonTooComplex } from './request-errors';

/*
 * JSON.parse's time grows with the number of strings and, far more, of different object keys, not
 * only with the bytes: on this machine a 3.5 MB object of 300 000 keys parses in 170 ms, an array of
 * 500 000 short strings in 167 ms, 30 000 objects of 10 keys each all different in 430 ms, while a
 * 4 MB chat history of long texts takes a few. One such body holds the event loop for every other
 * request. Under these bounds the worst shape parses in about 10 ms; no real request comes near
 * them (a chat history of 25 000 messages has 100 000 strings; OpenAI allows 5 000 properties in a
 * whole response schema). They are checked on the bytes, before anything parses them.
 */
export const MAX_JSON_STRINGS = 100_000;
export const MAX_JSON_DISTINCT_KEYS = 10_000;
/**
 * Objects and arrays, empty ones too: each costs JSON.parse an allocation (~130 ns here, three times
 * that under load), so 950 000 `{}` in 2.85 MB held the loop for 400 ms with no string in sight.
 */
export const MAX_JSON_CONTAINERS = 100_000;
/** Values in arrays and objects (counted by the commas between them): 2 million numbers parse in ~35 ms. */
export const MAX_JSON_VALUES = 500_000;
/** Smaller bodies parse in a few milliseconds whatever their shape: not scanned. */
const CHECKED_FROM_BYTES = 64 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

/** JsonTooComplex when `bytes` (a JSON text, not yet parsed) has more strings, different keys, objects and arrays, or values than the bounds. */
export function jsonComplexityProblem(bytes: Buffer): JsonTooComplex | undefined {
  if (bytes.length < CHECKED_FROM_BYTES) return undefined;
  // Keys by a hash of their bytes: no string made per key. A collision only undercounts by one.
  const keys = new Set<number>();
  const structure = { containers: 0, values: 0 };
  let strings = 0;
  let at = 0;
  for (;;) {
    const open = bytes.indexOf(QUOTE, at);
    const between = structureProblem(bytes, at, open === -1 ? bytes.length : open, structure);
    if (between) return between;
    if (open === -1) return undefined;
    const close = closingQuote(bytes, open);
    if (close === -1) return undefined; // unterminated: JSON.parse refuses it at once
    at = close + 1;
    if (++strings > MAX_JSON_STRINGS) return new JsonTooComplex('strings', MAX_JSON_STRINGS);
    if (!isKey(bytes, at)) continue;
    keys.add(fnv1a(bytes, open + 1, close));
    if (keys.size > MAX_JSON_DISTINCT_KEYS) return new JsonTooComplex('keys', MAX_JSON_DISTINCT_KEYS);
  }
}

/** Counts the objects, arrays and values that start in bytes[from, to), a stretch outside every string. */
function structureProblem(
  bytes: Buffer,
  from: number,
  to: number,
  counted: { containers: number; values: number },
): JsonTooComplex | undefined {
  for (let i = from; i < to; i++) {
    const byte = bytes[i];
    if (byte === OPEN_BRACE || byte === OPEN_BRACKET) counted.containers++;
    else if (byte === COMMA) counted.values++;
  }
  if (counted.containers > MAX_JSON_CONTAINERS) return new JsonTooComplex('containers', MAX_JSON_CONTAINERS);
  if (counted.values > MAX_JSON_VALUES) return new JsonTooComplex('values', MAX_JSON_VALUES);
  return undefined;
}

/** The index of the quote that closes the string opened at `open`; -1 if none does. */
export function closingQuote(bytes: Buffer, open: number): number {
  let from = open + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/** Whether the string that ended just before `at` is an object's key (a colon follows it). */
export function isKey(bytes: Buffer, at: number): boolean {
  while (bytes[at] === 0x20 || bytes[at] === 0x0a || bytes[at] === 0x0d || bytes[at] === 0x09) at++;
  return bytes[at] === COLON;
}

/**
 * 32-bit FNV-1a of bytes[from, to). The multiplication by the FNV prime (2^24 + 2^8 + 0x93) as
 * shifts and adds: no global looked up per byte (`Math.imul` is one, and under jest's sandboxed
 * globals each lookup cost ~200 ns, which made this scan 15× slower than it runs in production).
 */
function fnv1a(bytes: Buffer, from: number, to: number): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    hash ^= bytes[i];
    hash = (hash + (hash << 1) + (hash << 4) + (hash << 7) + (hash << 8) + (hash << 24)) | 0;
  }
  return hash >>> 0;
}

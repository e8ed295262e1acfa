/**
 * Where the value of one top-level key lies in the bytes of a JSON object, found without parsing:
 * strings are skipped with Buffer.indexOf (native), so the cost grows with the number of values,
 * not with the bytes (a 400 KB chat history is a few hundred jumps). Only for bytes JSON.parse has
 * already accepted. UTF-8 never puts a byte below 0x80 inside a multi-byte character, so looking for
 * ASCII punctuation byte by byte is safe.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * [start, end) of the value of top-level `key` (the last one, as JSON.parse keeps the last of
 * duplicates); undefined when the key is absent, or written with escapes (the caller then falls back
 * to serialising the parsed value).
 */
export function topLevelValueSpan(json: Buffer, key: string): [number, number] | undefined {
  const wanted = Buffer.from(key);
  let at = skipSpace(json, 0);
  if (json[at] !== OPEN_OBJECT) return undefined;
  at = skipSpace(json, at + 1);
  let span: [number, number] | undefined;
  while (at < json.length && json[at] !== CLOSE_OBJECT) {
    const keyEnd = endOfString(json, at);
    const isWanted =
      keyEnd - at - 2 === wanted.length && json.compare(wanted, 0, wanted.length, at + 1, keyEnd - 1) === 0;
    at = skipSpace(json, keyEnd) + 1; // past the colon
    const start = skipSpace(json, at);
    const end = endOfValue(json, start);
    if (isWanted) span = [start, end];
    at = skipSpace(json, end);
    if (json[at] === COMMA) at = skipSpace(json, at + 1);
  }
  return span;
}

function skipSpace(json: Buffer, at: number): number {
  while (at < json.length && (json[at] === 0x20 || json[at] === 0x0a || json[at] === 0x0d || json[at] === 0x09)) at++;
  return at;
}

/** `at` is an opening quote; returns the index after the closing one. */
function endOfString(json: Buffer, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = json.indexOf(QUOTE, from);
    if (quote === -1) return json.length;
    let backslashes = 0;
    while (json[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function endOfValue(json: Buffer, at: number): number {
  const first = json[at];
  if (first === QUOTE) return endOfString(json, at);
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) {
    // A number, true, false or null: up to the next separator.
    while (at < json.length && json[at] !== COMMA && json[at] !== CLOSE_OBJECT && json[at] !== CLOSE_ARRAY) at++;
    return trimEnd(json, at);
  }
  let depth = 0;
  while (at < json.length) {
    const byte = json[at];
    if (byte === QUOTE) {
      at = endOfString(json, at);
      continue;
    }
    if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) depth++;
    else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
      if (depth === 0) return at + 1;
    }
    at++;
  }
  return at;
}

function trimEnd(json: Buffer, end: number): number {
  while (
    end > 0 &&
    (json[end - 1] === 0x20 || json[end - 1] === 0x0a || json[end - 1] === 0x0d || json[end - 1] === 0x09)
  )
    end--;
  return end;
}

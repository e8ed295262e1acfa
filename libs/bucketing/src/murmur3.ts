// MurmurHash3 x86 32-bit over the UTF-8 bytes of a string, bit-for-bit compatible with the reference
// (Austin Appleby's MurmurHash3_x86_32), so buckets can be reproduced by any other implementation.
// It runs on the request path for every flag evaluation, so ASCII input (almost every user id and
// salt) is hashed straight from charCodeAt without encoding the string first.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const utf8 = new TextEncoder();
// Non-ASCII input is encoded into one reused buffer: allocating per call was about ten times slower.
// Hashing is synchronous, so no two calls ever share it. Longer strings (rare) get their own.
const scratch = new Uint8Array(3 * 1024);

export function murmur3_32(input: string, seed = 0): number {
  const length = input.length;
  const blockEnd = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    const c0 = input.charCodeAt(i);
    const c1 = input.charCodeAt(i + 1);
    const c2 = input.charCodeAt(i + 2);
    const c3 = input.charCodeAt(i + 3);
    // Above 0x7f a UTF-16 code unit is no longer its own UTF-8 byte: start over on the bytes.
    if ((c0 | c1 | c2 | c3) > 0x7f) return hashUtf8(input, seed);
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  let tail = 0;
  for (let j = length - 1; j >= i; j--) {
    const c = input.charCodeAt(j);
    if (c > 0x7f) return hashUtf8(input, seed);
    tail = (tail << 8) | c;
  }
  if (i < length) h ^= scramble(tail);
  return finish(h, length);
}

function hashUtf8(input: string, seed: number): number {
  // A UTF-16 code unit never needs more than 3 UTF-8 bytes.
  if (input.length * 3 > scratch.length) return hashBytes(utf8.encode(input), seed);
  const { written } = utf8.encodeInto(input, scratch);
  return hashBytes(scratch, seed, written);
}

// TextEncoder turns lone surrogates into U+FFFD, as Buffer.from(s, 'utf8') and most other
// languages' encoders do, so malformed ids still hash the same everywhere.
function hashBytes(bytes: Uint8Array, seed: number, length = bytes.length): number {
  const blockEnd = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    h = mixBlock(h, bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
  }
  let tail = 0;
  for (let j = length - 1; j >= i; j--) tail = (tail << 8) | bytes[j];
  if (i < length) h ^= scramble(tail);
  return finish(h, length);
}

// Math.imul keeps the multiplications in 32-bit integer arithmetic; a plain `*` would lose the low
// bits once the product exceeds 2^53.
function scramble(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixBlock(h: number, k: number): number {
  h ^= scramble(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

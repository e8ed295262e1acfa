import { randomBytes } from 'node:crypto';
import { closingQuote, isKey } from '../common/json-complexity';
import { JsonText } from '../common/json-text';

/** String values this long or longer are checked in the bytes and left there (JsonText). */
const LONG_STRING_BYTES = 512;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Stands in the skeleton for the long string at its index. The random part keeps a client's own
 * string from ever reading as one.
 */
const PLACEHOLDER_PREFIX = `switchyard-text-${randomBytes(8).toString('hex')}:`;

/**
 * A JSON document whose long string values were cut out of it: `json`, the rest, to parse with
 * JSON.parse (a few kilobytes for a 400 KB chat history), and the strings, each already checked to
 * be a valid JSON string. Only valid UTF-8 may be given. The document is valid JSON exactly when
 * `json` is: a string's bytes are found as a JSON parser finds them (from the first quote outside a
 * string to the next quote not escaped) and replaced by another valid string.
 */
export class JsonSkeleton {
  private constructor(
    readonly json: string,
    private readonly texts: JsonText[],
  ) {}

  /** Undefined when a long string is not a valid JSON string (a control character, a bad escape). */
  static of(bytes: Buffer): JsonSkeleton | undefined {
    const scanner = new StringScanner(bytes);
    const texts: JsonText[] = [];
    /** Where each long string starts and ends, in pairs. */
    const cuts: number[] = [];
    let at = 0;
    for (;;) {
      const open = bytes.indexOf(QUOTE, at);
      if (open === -1) break;
      const close = closingQuote(bytes, open);
      if (close === -1) break; // unterminated: JSON.parse refuses the skeleton
      at = close + 1;
      if (close - open - 1 < LONG_STRING_BYTES || isKey(bytes, at)) continue;
      const byteLength = scanner.textBytes(open + 1, close);
      if (byteLength === -1) return undefined;
      texts.push(new JsonText(bytes, open, at, byteLength));
      cuts.push(open, at);
    }
    if (texts.length === 0) return new JsonSkeleton(bytes.toString('utf8'), texts);
    return new JsonSkeleton(withPlaceholders(bytes, cuts).toString('utf8'), texts);
  }

  /**
   * Puts the strings back into the parsed skeleton: a chat message's text (`messages[i].content`, or
   * a content part's `text`) as the JsonText itself, any other as its decoded text, so only the
   * code that reads prompts ever meets a JsonText.
   */
  restore(value: unknown): unknown {
    if (this.texts.length === 0) return value;
    let restored = 0;
    const messages = (value as { messages?: unknown } | null)?.messages;
    if (Array.isArray(messages)) {
      for (const message of messages) {
        if (!isObject(message)) continue;
        const content = message.content;
        const text = this.textOf(content);
        if (text) {
          message.content = text;
          restored++;
        } else if (Array.isArray(content)) {
          for (const part of content) {
            const partText = isObject(part) ? this.textOf(part.text) : undefined;
            if (!partText) continue;
            (part as Record<string, unknown>).text = partText;
            restored++;
          }
        }
      }
    }
    return restored === this.texts.length ? value : this.decodeTheRest(value);
  }

  private textOf(value: unknown): JsonText | undefined {
    if (typeof value !== 'string' || !value.startsWith(PLACEHOLDER_PREFIX)) return undefined;
    return this.texts[Number(value.slice(PLACEHOLDER_PREFIX.length))];
  }

  /** Any string outside the messages' texts (or a duplicate key's, dropped by JSON.parse) as its text. */
  private decodeTheRest(value: unknown): unknown {
    const root = this.textOf(value);
    if (root) return root.text;
    const stack: unknown[] = [value];
    while (stack.length > 0) {
      const container = stack.pop();
      if (!isObject(container)) continue;
      for (const key of Object.keys(container)) {
        const child = container[key];
        const text = this.textOf(child);
        if (text) container[key] = text.text;
        // A JsonText restored above is no JSON container: walking it would walk the whole body's bytes.
        else if (typeof child === 'object' && child !== null && !(child instanceof JsonText)) stack.push(child);
      }
    }
    return value;
  }
}

/** The bytes with each cut [start, end) replaced by its placeholder, in one copy. */
function withPlaceholders(bytes: Buffer, cuts: number[]): Buffer {
  let size = bytes.length;
  for (let i = 0; i < cuts.length; i += 2) size += placeholderBytes(i / 2).length - (cuts[i + 1] - cuts[i]);
  const skeleton = Buffer.allocUnsafe(size);
  let written = 0;
  let copiedTo = 0;
  for (let i = 0; i < cuts.length; i += 2) {
    written += bytes.copy(skeleton, written, copiedTo, cuts[i]);
    written += placeholderBytes(i / 2).copy(skeleton, written);
    copiedTo = cuts[i + 1];
  }
  bytes.copy(skeleton, written, copiedTo);
  return skeleton;
}

/**
 * The first placeholders as JSON strings, made once per process (a chat history rarely has more long
 * texts); beyond, each is made when needed, so no body can grow what the process keeps.
 */
const KEPT_PLACEHOLDERS = 1024;
const placeholders = Array.from({ length: KEPT_PLACEHOLDERS }, (_, index) => placeholderOf(index));
function placeholderBytes(index: number): Buffer {
  return index < KEPT_PLACEHOLDERS ? placeholders[index] : placeholderOf(index);
}

function placeholderOf(index: number): Buffer {
  return Buffer.from(JSON.stringify(PLACEHOLDER_PREFIX + index));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Checks the inside of JSON strings as JSON.parse would (no control character, only JSON's escapes)
 * and measures their text. Control characters are looked for four bytes at a time, backslashes with
 * Buffer.indexOf (native): a prompt is mostly plain text.
 */
class StringScanner {
  /** The body as 32-bit words, from its first byte at a 4-byte boundary of the underlying memory. */
  private readonly words: Int32Array;
  private readonly firstAligned: number;
  private nextBackslash = -2; // not looked for yet

  constructor(private readonly bytes: Buffer) {
    this.firstAligned = (4 - (bytes.byteOffset & 3)) & 3;
    const wordCount = Math.max(0, (bytes.length - this.firstAligned) >> 2);
    this.words = new Int32Array(bytes.buffer, bytes.byteOffset + this.firstAligned, wordCount);
  }

  /** The UTF-8 length of the text of the string inside [from, to), or -1 if it is not valid JSON. */
  textBytes(from: number, to: number): number {
    if (this.hasControlCharacter(from, to)) return -1;
    const { bytes } = this;
    let saved = 0; // bytes the escapes take beyond the bytes of what they stand for
    let next = from;
    for (;;) {
      const at = this.backslashFrom(next);
      if (at === -1 || at >= to) return to - from - saved;
      const escaped = at + 1 < to ? bytes[at + 1] : -1;
      if (escaped !== 0x75 /* u */) {
        if (!SIMPLE_ESCAPES.has(escaped)) return -1;
        saved += 1;
        next = at + 2;
        continue;
      }
      const unit = hexUnit(bytes, at + 2, to);
      if (unit === -1) return -1;
      if (unit >= 0xd800 && unit <= 0xdbff && bytes[at + 6] === BACKSLASH && bytes[at + 7] === 0x75) {
        const low = hexUnit(bytes, at + 8, to);
        if (low >= 0xdc00 && low <= 0xdfff) {
          saved += 12 - 4; // a surrogate pair: one four-byte character
          next = at + 12;
          continue;
        }
      }
      saved += 6 - utf8Length(unit);
      next = at + 6;
    }
  }

  /**
   * The first backslash at or after `from`, or -1. Strings are scanned in order, so the last answer
   * stands until `from` passes it: one native search per backslash and per long string, however far
   * apart they are.
   */
  private backslashFrom(from: number): number {
    if (this.nextBackslash !== -1 && this.nextBackslash < from)
      this.nextBackslash = this.bytes.indexOf(BACKSLASH, from);
    return this.nextBackslash;
  }

  private hasControlCharacter(from: number, to: number): boolean {
    const { bytes, words, firstAligned } = this;
    const firstWord = Math.max(0, (from - firstAligned + 3) >> 2);
    const lastWord = (to - firstAligned) >> 2; // words from firstWord up to it lie wholly in [from, to)
    const wordsFrom = firstAligned + firstWord * 4;
    const wordsTo = Math.max(wordsFrom, firstAligned + lastWord * 4);
    for (let at = from; at < Math.min(wordsFrom, to); at++) if (bytes[at] < 0x20) return true;
    for (let word = firstWord; word < lastWord; word++) {
      const value = words[word];
      // SWAR: a lane's high bit survives only if its byte is below 0x20 (exact as a yes or no).
      if (((value - 0x20202020) & ~value & 0x80808080) !== 0) return true;
    }
    for (let at = wordsTo; at < to; at++) if (bytes[at] < 0x20) return true;
    return false;
  }
}

/** The characters JSON allows after a backslash, besides `u`: " \ / b f n r t. */
const SIMPLE_ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

/** The four hex digits at `at` as a number, or -1. */
function hexUnit(bytes: Buffer, at: number, to: number): number {
  if (at + 4 > to) return -1;
  let unit = 0;
  for (let i = at; i < at + 4; i++) {
    const digit = hexDigit(bytes[i]);
    if (digit === -1) return -1;
    unit = unit * 16 + digit;
  }
  return unit;
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}

/** Bytes of one UTF-16 code unit in UTF-8; a lone surrogate is written as U+FFFD (three bytes). */
function utf8Length(unit: number): number {
  if (unit < 0x80) return 1;
  if (unit < 0x800) return 2;
  return 3;
}

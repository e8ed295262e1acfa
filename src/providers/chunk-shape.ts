/**
 * The stream event was not one a client can read (chunkShapeProblem): the stream is broken there, as
 * if the upstream had cut it.
 */
export class MalformedEventError extends Error {
  constructor(readonly problem: string) {
    super(`the upstream sent an event that is no chat.completion.chunk: ${problem}`);
    this.name = 'MalformedEventError';
  }
}

export const NOT_JSON = 'its data is not JSON';
export const NOT_AN_OBJECT = 'its data is not a JSON object';
export const NO_CHOICES = 'its object has no choices array';

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** What may stand outside strings in JSON besides brackets: separators, whitespace, numbers, true/false/null. */
const BETWEEN_STRINGS = new Uint8Array(128);
for (const char of ' \t\r\n,:0123456789+-.eEtrufalsn') BETWEEN_STRINGS[char.charCodeAt(0)] = 1;

/** The open brackets of the scan under way, reused: the scan is synchronous, and almost never deeper than this. */
let openBrackets: Uint8Array = new Uint8Array(64);

/**
 * Why a stream event is no chunk an OpenAI client can read, or undefined when it is one. The
 * official SDKs JSON.parse the data of every event and hand the object on as a
 * chat.completion.chunk; an upstream's event that is not JSON makes the client's stream throw, and
 * one without `choices` makes the caller's `chunk.choices[0]` throw. Accepted: an object with a
 * top-level `choices` array, or with an `error` object (the relay answers that with its own error
 * event); `[DONE]`; an event with neither data nor a name (a comment, a keep-alive), which clients skip.
 *
 * Not JSON.parse, which costs a stream a parse and its garbage per event: a scan of the data's
 * structure, skipping strings with indexOf (native), that finds what upstreams really break —
 * a chunk cut off or two run together, text or HTML instead of JSON, an array or a scalar, a
 * bracket that closes the wrong one, anything but separators and literals between values. What it
 * does not check is JSON's grammar between tokens (a missing comma, a misspelled `true`, a bad
 * escape inside a string): a client would refuse such an event, the scan lets it through.
 */
export function chunkShapeProblem(event: string): string | undefined {
  // Almost every event is one `data:` line.
  if (event.startsWith('data:') && !event.includes('\n')) return dataProblem(event, 5, event.length);
  const data = dataOf(event);
  return data === undefined ? undefined : dataProblem(data, 0, data.length);
}

/**
 * The upstream's error object when the event is an error event (`data: {"error": {...}}`, which
 * chunkShapeProblem accepts as an event's shape); undefined for a chunk or anything else. Parses only
 * an event that names `"error"` at all.
 */
export function errorOfEvent(event: string): Record<string, unknown> | undefined {
  if (!event.includes('"error"')) return undefined;
  const data = dataOf(event);
  if (data === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  const error = typeof parsed === 'object' && parsed !== null ? (parsed as { error?: unknown }).error : undefined;
  return typeof error === 'object' && error !== null && !Array.isArray(error)
    ? (error as Record<string, unknown>)
    : undefined;
}

/**
 * The event's data as the SDKs' decoder reads it (its data lines joined by newlines); undefined
 * when the event is not dispatched (only comments, ids, retries).
 */
function dataOf(event: string): string | undefined {
  let data: string | undefined;
  let named = false;
  for (const raw of event.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
    if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
    else if (field === 'event') named = value !== '';
  }
  // A named event without data is dispatched all the same, its data '', which no client can parse.
  return data ?? (named ? '' : undefined);
}

function dataProblem(text: string, from: number, to: number): string | undefined {
  let at = skipSpace(text, from, to);
  if (at === to) return NOT_JSON;
  if (text.charCodeAt(at) !== OPEN_OBJECT) {
    return text.startsWith('[DONE]', at) && skipSpace(text, at + 6, to) === to ? undefined : NOT_AN_OBJECT;
  }
  let depth = 0;
  let shaped = false;
  for (; at < to; at++) {
    const char = text.charCodeAt(at);
    if (char === QUOTE) {
      const close = closingQuote(text, at, to);
      if (close === -1) return NOT_JSON;
      if (depth === 1 && !shaped) shaped = isChunkKey(text, at, close, to);
      at = close;
    } else if (char < 128 && BETWEEN_STRINGS[char] === 1) {
      continue;
    } else if (char === OPEN_OBJECT || char === OPEN_ARRAY) {
      if (depth === openBrackets.length) openBrackets = grown(openBrackets);
      openBrackets[depth++] = char;
    } else if (char === CLOSE_OBJECT || char === CLOSE_ARRAY) {
      // A closing bracket's code is its opening one's plus two, for both kinds.
      if (openBrackets[--depth] !== char - 2) return NOT_JSON;
      if (depth === 0) break;
    } else {
      return NOT_JSON;
    }
  }
  if (depth !== 0 || skipSpace(text, at + 1, to) !== to) return NOT_JSON;
  return shaped ? undefined : NO_CHOICES;
}

/** Whether the string text[open..close] is the key `choices` holding an array, or `error` holding an object. */
function isChunkKey(text: string, open: number, close: number, to: number): boolean {
  const length = close - open - 1;
  if (length !== 7 && length !== 5) return false;
  const colon = skipSpace(text, close + 1, to);
  if (text.charCodeAt(colon) !== COLON) return false;
  const value = text.charCodeAt(skipSpace(text, colon + 1, to));
  if (length === 7) return value === OPEN_ARRAY && text.startsWith('choices', open + 1);
  return value === OPEN_OBJECT && text.startsWith('error', open + 1);
}

/** The index of the quote that closes the string opened at `open`; -1 if none does before `to`. */
function closingQuote(text: string, open: number, to: number): number {
  let from = open + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1 || quote >= to) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

function skipSpace(text: string, at: number, to: number): number {
  for (; at < to; at++) {
    const char = text.charCodeAt(at);
    if (char !== SPACE && char !== LF && char !== CR && char !== TAB) return at;
  }
  return to;
}

function grown(brackets: Uint8Array): Uint8Array {
  const larger = new Uint8Array(brackets.length * 2);
  larger.set(brackets);
  return larger;
}

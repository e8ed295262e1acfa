import { closingQuote, isKey } from './json-complexity';
import { DuplicateField } from './request-errors';

const QUOTE = 0x22;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

interface Container {
  object: boolean;
  /** The container it is in, and the key or index it has there: its path, built only for a problem. */
  parent: Container | undefined;
  name: string | number;
  /** An object's first key; all its keys in a set once it has two (most objects have few). */
  first: string | undefined;
  keys: Set<string> | undefined;
  /** An object's last key, an array's index: what names the next child. */
  key: string;
  index: number;
}

/**
 * DuplicateField for the first object key that `bytes` (a JSON text, not yet parsed) gives twice in
 * one object, naming it and where. JSON.parse keeps the last one silently, so `{"key":"a","key":"b"}`
 * would create flag b, and a typo's value would win over the intended one unseen. Keys are compared
 * as JSON.parse reads them: `"a"` and `"\u0061"` are the same key. Text that is not JSON answers
 * undefined (the parser says why). Under json-complexity.ts's bounds this takes a few milliseconds.
 */
export function duplicateKeyProblem(bytes: Buffer): DuplicateField | undefined {
  let top: Container | undefined;
  for (let at = 0; at < bytes.length; at++) {
    const byte = bytes[at];
    if (byte === QUOTE) {
      const close = closingQuote(bytes, at);
      if (close === -1) return undefined;
      if (top?.object && isKey(bytes, close + 1)) {
        const key = keyText(bytes, at, close);
        if (key === undefined) return undefined;
        if (top.first === undefined) top.first = key;
        else {
          top.keys ??= new Set([top.first]);
          if (top.keys.has(key)) return new DuplicateField(key, pathOf(top));
          top.keys.add(key);
        }
        top.key = key;
      }
      at = close;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      const name = top ? (top.object ? top.key : top.index) : '';
      top = { object: byte === OPEN_BRACE, parent: top, name, first: undefined, keys: undefined, key: '', index: 0 };
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      top = top?.parent;
    } else if (byte === COMMA && top && !top.object) {
      top.index++;
    }
  }
  return undefined;
}

/** `rules[0].serve`; '' for the body itself. */
function pathOf(container: Container): string {
  const steps: Array<string | number> = [];
  for (let at: Container = container; at.parent; at = at.parent) steps.unshift(at.name);
  return steps.map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? step : `.${step}`)).join('');
}

/** The key as JSON.parse reads it; raw bytes unless an escape is in it. */
function keyText(bytes: Buffer, open: number, close: number): string | undefined {
  const raw = bytes.toString('utf8', open + 1, close);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(bytes.toString('utf8', open, close + 1)) as string;
  } catch {
    return undefined;
  }
}

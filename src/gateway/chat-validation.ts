import { describe } from '../common/excerpt';
import { InvalidChatRequest } from './gateway.errors';

/** Checks shared by the body's fields and its messages. Each throws InvalidChatRequest naming `param`. */

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function wrongType(param: string, expected: string, value: unknown): InvalidChatRequest {
  return new InvalidChatRequest(`\`${param}\` must be ${expected}; got ${describe(value)}.`, param, 'invalid_type');
}

export function wrongValue(param: string, expected: string, value: unknown): InvalidChatRequest {
  return new InvalidChatRequest(`\`${param}\` must be ${expected}; got ${describe(value)}.`, param, 'invalid_value');
}

export function requireString(value: unknown, param: string): asserts value is string {
  if (typeof value !== 'string') throw wrongType(param, 'a string', value);
}

export function requireBoolean(value: unknown, param: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw wrongType(param, 'true or false', value);
}

export function requireNumberBetween(value: unknown, param: string, min: number, max: number): void {
  if (typeof value === 'number' && value >= min && value <= max) return;
  const expected = `a number between ${min} and ${max}`;
  throw typeof value !== 'number' ? wrongType(param, expected, value) : wrongValue(param, expected, value);
}

export function requireIntegerBetween(value: unknown, param: string, min: number, max: number): void {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return;
  const expected =
    max === Number.MAX_SAFE_INTEGER ? `an integer of at least ${min}` : `an integer between ${min} and ${max}`;
  throw typeof value !== 'number' ? wrongType(param, expected, value) : wrongValue(param, expected, value);
}

export function requireObject(value: unknown, param: string): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) throw wrongType(param, 'an object', value);
}

export function requireList(value: unknown, param: string): asserts value is unknown[] {
  if (!Array.isArray(value)) throw wrongType(param, 'a list', value);
}

/**
 * How many characters `text` has, counted as code points: an emoji is one, though `length` counts
 * its two UTF-16 units. Never more than a person (or OpenAI) counts, so a bound in characters does
 * not refuse what OpenAI takes; `length` is the fast answer whenever it is within the bound.
 */
export function characterCount(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdbff) continue;
    const next = text.charCodeAt(i + 1);
    if (next >= 0xdc00 && next <= 0xdfff) {
      count--;
      i++;
    }
  }
  return count;
}

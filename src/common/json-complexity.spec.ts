import {
  jsonComplexityProblem,
  MAX_JSON_CONTAINERS,
  MAX_JSON_DISTINCT_KEYS,
  MAX_JSON_STRINGS,
  MAX_JSON_VALUES,
} from './json-complexity';

const bytesOf = (value: unknown) => Buffer.from(JSON.stringify(value));
const strings = (count: number) => Array.from({ length: count }, (_, i) => `s${i}`);
const objectOf = (keys: number) => Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, 1]));

describe('jsonComplexityProblem', () => {
  it('takes up to MAX_JSON_STRINGS strings and refuses one more, keys and values alike', () => {
    expect(jsonComplexityProblem(bytesOf(strings(MAX_JSON_STRINGS)))).toBeUndefined();
    expect(jsonComplexityProblem(bytesOf(strings(MAX_JSON_STRINGS + 1)))?.message).toBe(
      'The request body has more than 100,000 strings (object keys and values together); no request needs that many: send text as fewer, longer strings.',
    );
    const messages = Array.from({ length: MAX_JSON_STRINGS / 4 + 1 }, (_, i) => ({ role: 'user', content: `m${i}` }));
    expect(jsonComplexityProblem(bytesOf({ messages }))?.code).toBe('json_too_complex');
  });

  it('refuses more than MAX_JSON_DISTINCT_KEYS different keys, in one object or spread over many', () => {
    expect(jsonComplexityProblem(bytesOf(objectOf(MAX_JSON_DISTINCT_KEYS)))).toBeUndefined();
    expect(jsonComplexityProblem(bytesOf(objectOf(MAX_JSON_DISTINCT_KEYS + 1)))?.message).toBe(
      'The request body uses more than 10,000 different object keys; no request needs that many.',
    );
    const spread = Array.from({ length: 2_000 }, (_, i) =>
      Object.fromEntries(Array.from({ length: 6 }, (_, j) => [`k${i * 6 + j}`, 1])),
    );
    expect(jsonComplexityProblem(bytesOf(spread))?.code).toBe('json_too_complex');
    // The same few keys again and again are one key each: a long chat history is fine.
    const history = Array.from({ length: 20_000 }, (_, i) => ({ role: i % 2 ? 'user' : 'assistant', content: 'ok' }));
    expect(jsonComplexityProblem(bytesOf({ messages: history }))).toBeUndefined();
  });

  it('counts strings as JSON.parse finds them: escaped quotes are inside, whitespace may precede a colon', () => {
    // 120 000 escaped quotes (and escaped backslashes before a closing quote) in one string: one string.
    const quoted = 'say \\"hi\\" and \\\\ '.repeat(60_000);
    const body = Buffer.from(`{"text": "${quoted}\\\\"}`);
    expect(JSON.parse(body.toString()).text.endsWith('\\')).toBe(true);
    expect(jsonComplexityProblem(body)).toBeUndefined();
    const spaced = `{${Array.from({ length: MAX_JSON_DISTINCT_KEYS + 1 }, (_, i) => `"k${i}" \n : 1`).join(',')}}`;
    expect(jsonComplexityProblem(Buffer.from(spaced))?.code).toBe('json_too_complex');
  });

  it('refuses more than MAX_JSON_CONTAINERS objects and arrays, empty ones too, but not brackets inside strings', () => {
    const empties = (count: number) =>
      Buffer.from(`[${Array.from({ length: count }, (_, i) => (i % 2 ? '{}' : '[]')).join(',')}]`);
    // The outer array is one of them.
    expect(jsonComplexityProblem(empties(MAX_JSON_CONTAINERS - 1))).toBeUndefined();
    expect(jsonComplexityProblem(empties(MAX_JSON_CONTAINERS))?.message).toBe(
      'The request body has more than 100,000 objects and arrays (empty ones count too); no request needs that many.',
    );
    const text = '{[,'.repeat(MAX_JSON_VALUES);
    expect(jsonComplexityProblem(bytesOf({ messages: [{ role: 'user', content: text }] }))).toBeUndefined();
  });

  it('refuses more than MAX_JSON_VALUES values in arrays and objects, numbers too', () => {
    const numbers = (count: number) =>
      Buffer.from(`{"embedding":[${Array.from({ length: count }, () => '1').join(',')}]}`);
    expect(jsonComplexityProblem(numbers(MAX_JSON_VALUES + 1))).toBeUndefined();
    expect(jsonComplexityProblem(numbers(MAX_JSON_VALUES + 2))?.message).toBe(
      'The request body has more than 500,000 values in its arrays and objects; no request needs that many.',
    );
  });
});

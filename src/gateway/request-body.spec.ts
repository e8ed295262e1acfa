import { SeededRandom } from '@switchyard/simulator';
import { JsonText } from '../common/json-text';
import { InvalidJson, JsonTooDeep, UnsupportedContentType } from '../common/request-errors';
import { contentTypeProblem, parseJsonBody } from './request-body';

/** A seeded generator, so a failure names a seed that reproduces it. */
function generator(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

/** Text with what JSON escapes and what it does not: quotes, backslashes, controls, emoji, lone surrogates. */
const PIECES = [
  'the shipment ',
  'left ',
  '"quoted" ',
  'back\\slash ',
  'line\nbreak\t',
  'ünïcödé ',
  '😀 ',
  '\u0001',
  '\ud800',
  '\udc00 x',
  '/ ',
  '中文 ',
];

function text(random: () => number, length: number): string {
  let value = '';
  while (value.length < length) value += PIECES[Math.floor(random() * PIECES.length)];
  return value;
}

/** JSON as a client may write it: escapes spelled either way (\n or \u000a, é raw or \u00e9), spaces anywhere. */
function clientJson(value: unknown, random: () => number): string {
  const json = JSON.stringify(value, null, random() < 0.5 ? undefined : 2);
  return json.replace(/\\n|é|😀/g, (match) => {
    if (random() < 0.5) return match;
    if (match === '\\n') return '\\u000a';
    if (match === 'é') return '\\u00e9';
    return '\\ud83d\\ude00';
  });
}

/** The value with every JsonText as its text, as JSON.parse would have given it. */
const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

function chatBody(random: () => number) {
  const messages = Array.from({ length: 1 + Math.floor(random() * 30) }, (_, i) => {
    const length = Math.floor(random() * 3000);
    if (random() < 0.2)
      return {
        role: 'user',
        content: [
          { type: 'text', text: text(random, length) },
          { type: 'image_url', image_url: { url: 'https://x' } },
        ],
      };
    return { role: i % 2 ? 'assistant' : 'user', content: text(random, length) };
  });
  return { model: 'route:chat', messages, metadata: { note: text(random, Math.floor(random() * 1500)) }, user: 'u-1' };
}

describe('parseJsonBody', () => {
  it('gives what JSON.parse gives, long message texts as JsonText that measure and decode alike', () => {
    let longTexts = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const random = generator(seed);
      const json = clientJson(chatBody(random), random);
      const value = parseJsonBody(Buffer.from(json)) as ReturnType<typeof chatBody>;
      expect({ seed, value: plain(value) }).toEqual({ seed, value: JSON.parse(json) });
      for (const message of value.messages) {
        const texts = Array.isArray(message.content) ? message.content.map((part) => part.text) : [message.content];
        for (const piece of texts as unknown[]) {
          if (!(piece instanceof JsonText)) continue;
          longTexts++;
          expect({ seed, bytes: piece.byteLength }).toEqual({ seed, bytes: Buffer.byteLength(piece.text) });
        }
      }
      // Only a message's text is left undecoded: every other string is a string.
      expect(typeof value.metadata.note).toBe('string');
    }
    expect(longTexts).toBeGreaterThan(1000);
  });

  it('takes more long texts than it keeps placeholders for', () => {
    const messages = Array.from({ length: 1500 }, (_, i) => ({ role: 'user', content: `${i} ${'word '.repeat(120)}` }));
    const json = JSON.stringify({ model: 'route:chat', messages });
    const value = parseJsonBody(Buffer.from(json)) as { messages: Array<{ content: unknown }> };
    expect(value.messages.every((message) => message.content instanceof JsonText)).toBe(true);
    expect(plain(value)).toEqual(JSON.parse(json));
  });

  it('refuses exactly what JSON.parse refuses, whatever byte is changed', () => {
    const random = generator(7);
    const base = JSON.stringify({
      model: 'route:chat',
      messages: [
        { role: 'system', content: `Context: ${'a "b" c\\d \n e \u00e9 '.repeat(500)}` },
        { role: 'user', content: 'short' },
      ],
      [`k${'y'.repeat(600)}`]: 'a long key stays a key',
    });
    expect(Buffer.byteLength(base)).toBeGreaterThan(8 * 1024);
    const replacements = [0x22, 0x5c, 0x0a, 0x00, 0x1f, 0x75, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x20, 0x41, 0x30];
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(base);
      const at = Math.floor(random() * bytes.length);
      if (bytes[at] >= 0x80) continue; // keep the bytes UTF-8: that refusal is tested on its own
      bytes[at] = replacements[Math.floor(random() * replacements.length)];
      let expected: unknown;
      try {
        expected = JSON.parse(bytes.toString('utf8'));
      } catch {
        expected = 'refused';
      }
      let actual: unknown;
      try {
        actual = plain(parseJsonBody(bytes));
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidJson);
        actual = 'refused';
      }
      if (actual === 'refused') refused++;
      expect({ at, byte: bytes[at], actual }).toEqual({ at, byte: bytes[at], actual: expected });
    }
    expect(refused).toBeGreaterThan(300);
  });

  it('refuses a body that is not UTF-8, small or large, saying so', () => {
    const small = Buffer.concat([
      Buffer.from('{"model":"x","messages":[{"role":"user","content":"caf'),
      Buffer.from([0xe9]),
      Buffer.from('"}]}'),
    ]);
    const large = Buffer.concat([small.subarray(0, -4), Buffer.from('a'.repeat(9000)), Buffer.from('"}]}')]);
    for (const bytes of [small, large]) {
      expect(() => parseJsonBody(bytes)).toThrow('The request body is not valid JSON: it is not UTF-8.');
    }
  });

  it('refuses a body nested too deep, its long strings left in place or not', () => {
    const deep = `${'['.repeat(70)}"${'x'.repeat(9000)}"${']'.repeat(70)}`;
    expect(() => parseJsonBody(Buffer.from(deep))).toThrow(JsonTooDeep);
  });
});

describe('contentTypeProblem', () => {
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'Application/JSON',
    ' application/json ; charset="utf-8"',
    'application/json; boundary=ignored',
  ])('takes %j', (type) => {
    expect(contentTypeProblem(type)).toBeUndefined();
  });

  it.each([
    [undefined, 'no Content-Type'],
    ['', 'no Content-Type'],
    ['text/plain', '"text/plain"'],
    ['application/x-www-form-urlencoded', '"application/x-www-form-urlencoded"'],
    ['application/vnd.api+json', '"application/vnd.api+json"'],
    ['application/jsonl', '"application/jsonl"'],
    ['application/json; charset=latin1', '"application/json; charset=latin1"'],
  ])('refuses %j with 415 naming application/json and what came', (type, got) => {
    const problem = contentTypeProblem(type);
    expect(problem).toBeInstanceOf(UnsupportedContentType);
    expect(problem).toMatchObject({ kind: 'unsupported_media', code: 'unsupported_content_type', param: null });
    expect(problem!.message).toBe(
      `The request body must be JSON in UTF-8 with Content-Type: application/json (got ${got}).`,
    );
  });
});

describe('JsonText.wordsNear', () => {
  it('decodes whole words from near the asked place, escapes resolved, or gives up where there are no spaces', () => {
    const content = 'first "quoted" words\nand more words '.repeat(40);
    const token = Buffer.from(JSON.stringify(content));
    const text = new JsonText(token, 0, token.length, Buffer.byteLength(content));
    for (const fraction of [0, 0.25, 0.5, 0.9]) {
      const words = text.wordsNear(fraction, 256)!;
      expect(words.startsWith(' ')).toBe(true);
      expect(content).toContain(words);
      expect(Buffer.byteLength(words)).toBeLessThanOrEqual(256);
      expect(Buffer.byteLength(words)).toBeGreaterThan(100);
    }
    const chinese = Buffer.from(JSON.stringify('中'.repeat(500)));
    const noSpaces = new JsonText(chinese, 0, chinese.length, 1500);
    expect(noSpaces.wordsNear(0.5, 256)).toBeUndefined();
  });
});

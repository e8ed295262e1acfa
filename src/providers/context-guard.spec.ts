import { countTokens } from 'gpt-tokenizer';
import type { CatalogModel } from '../config/catalog.schema';
import { ContextGuard } from './context-guard';
import { PromptSize } from './prompt-size';

const model = (contextWindow: number) => ({ id: `window-${contextWindow}`, contextWindow }) as CatalogModel;
const guard = new ContextGuard({ contextGuardRatio: 0.9 });

/** The real tokenizer, remembering the length of every text it was given. */
function recordingTokenizer(): { count: (text: string) => number; chunks: number[] } {
  const chunks: number[] = [];
  return {
    chunks,
    count: (text) => {
      chunks.push(text.length);
      return countTokens(text);
    },
  };
}

describe('context guard', () => {
  beforeAll(() => guard.onModuleInit());

  it('counts tokens with the tokenizer, not characters/4', async () => {
    // 'hello' is one token; each message adds 3, a name 1 more, the reply priming 3: 7 and 13.
    const tiny = model(1);
    expect(await guard.refusal(guard.measure([{ content: 'hello' }]), tiny)).toMatchObject({
      message: expect.stringContaining('is about 7 tokens'),
    });
    const twoMessages = [{ content: [{ type: 'text', text: 'hello' }] }, { content: 'hello', name: 'bob' }];
    expect((await guard.refusal(guard.measure(twoMessages), tiny))?.message).toContain('is about 13 tokens');
  });

  it('lets a prompt under the guard ratio of the window through', async () => {
    expect(await guard.refusal(guard.measure([{ content: 'word '.repeat(800) }]), model(1000))).toBeUndefined();
  });

  it('rejects a prompt over it with context_length_exceeded naming model, limit and estimate', async () => {
    const refusal = await guard.refusal(guard.measure([{ content: 'word '.repeat(1200) }]), model(1000));
    expect(refusal).toMatchObject({ code: 'context_length_exceeded', param: 'messages', kind: 'invalid' });
    expect(refusal?.message).toMatch(
      /prompt is about 120\d tokens; model window-1000 accepts up to 900 \(90% of its 1000-token context window\)/,
    );
  });

  it('counts long text in chunks that add up to the whole count, emoji never split', async () => {
    const texts = [
      'The train rolled on through the night, past towns whose names nobody on board could read. '.repeat(400),
      'line one\nline two\r\n\ttabbed '.repeat(500),
      '😀🎉👍🏽 '.repeat(2000),
    ];
    for (const text of texts) {
      const tokenizer = recordingTokenizer();
      const exact = countTokens(text) + 6;
      const refusal = await new PromptSize([{ content: text }]).excess(1, tokenizer.count);
      expect(refusal).toEqual({ tokens: exact, atLeast: false });
      expect(Math.max(...tokenizer.chunks)).toBeLessThanOrEqual(256);
    }
  });

  it('decides by bytes alone when they settle it: under the limit, or over it at 128 bytes a token', async () => {
    const small = recordingTokenizer();
    expect(await new PromptSize([{ content: 'x'.repeat(800) }]).excess(900, small.count)).toBeUndefined();
    const huge = recordingTokenizer();
    const excess = await new PromptSize([{ content: 'a'.repeat(4 * 1024 * 1024) }]).excess(16_000, huge.count);
    expect(excess).toEqual({ tokens: 32_768 + 6, atLeast: true });
    expect([...small.chunks, ...huge.chunks]).toEqual([]);
  });

  it('tokenizes only bounded chunks of a megabyte of one letter, and stops once the answer is certain', async () => {
    const text = 'a'.repeat(1024 * 1024);
    const tooLong = recordingTokenizer();
    const excess = await new PromptSize([{ content: text }]).excess(115_200, tooLong.count);
    expect(excess?.atLeast).toBe(false);
    expect(excess?.tokens).toBeGreaterThan(115_200);
    expect(Math.max(...tooLong.chunks)).toBeLessThanOrEqual(256);
    expect(tooLong.chunks.reduce((sum, length) => sum + length, 0)).toBeLessThan(text.length);

    const fits = recordingTokenizer();
    expect(await new PromptSize([{ content: text }]).excess(942_818, fits.count)).toBeUndefined();
    // Once the counted part plus a byte per remaining token fits, the rest is not tokenized.
    expect(fits.chunks.reduce((sum, length) => sum + length, 0)).toBeLessThan(text.length / 4);
  });

  it('lets a large prompt far under the window through on a sample, tokenizing a few kilobytes of it', async () => {
    const sentence = 'The shipment left the warehouse on Tuesday and the customer asked for a refund. ';
    const history = Array.from({ length: 200 }, (_, i) => ({ content: `${i}: ${sentence.repeat(25)}` }));
    const tokenizer = recordingTokenizer();
    // About 410 KB, about 80 000 tokens: more bytes than the limit, far fewer tokens.
    expect(await new PromptSize(history).excess(115_200, tokenizer.count)).toBeUndefined();
    expect(tokenizer.chunks.length).toBe(16);
    expect(tokenizer.chunks.reduce((sum, length) => sum + length, 0)).toBeLessThanOrEqual(16 * 256);
  });

  it('counts a large prompt near the window exactly, and refuses it only on the count', async () => {
    const text = 'the train rolled on through the night '.repeat(2500);
    const exact = countTokens(text) + 6;
    // Under the limit but within the sample's margin: counted whole, let through.
    const near = recordingTokenizer();
    expect(await new PromptSize([{ content: text }]).excess(Math.ceil(exact * 1.1), near.count)).toBeUndefined();
    expect(near.chunks.reduce((sum, length) => sum + length, 0)).toBeGreaterThan(text.length - 16 * 256);
    // Just over the limit: the count refuses it, with the exact figure.
    expect(await new PromptSize([{ content: text }]).excess(exact - 1, countTokens)).toEqual({
      tokens: exact,
      atLeast: false,
    });
  });

  it('resumes counting for a larger window where it stopped for a smaller one', async () => {
    const messages = [{ content: 'the train rolled on through the night '.repeat(3000) }];
    const exact = countTokens(messages[0].content) + 6;
    const prompt = new PromptSize(messages);
    expect(await prompt.excess(5_000, countTokens)).toBeDefined();
    expect(await prompt.excess(exact - 1, countTokens)).toEqual({ tokens: exact, atLeast: false });
    expect(await prompt.excess(exact, countTokens)).toBeUndefined();
  });
});

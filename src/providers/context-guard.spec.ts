import type { CatalogModel } from '../config/catalog.schema';
import { assertFitsContext, estimatePromptTokens } from './context-guard';

const model = { id: 'tiny', contextWindow: 1000 } as CatalogModel;

describe('context guard', () => {
  it('counts tokens with the tokenizer, not characters/4', async () => {
    // 'hello' is one token; each message adds 3, a name 1 more, the reply priming 3.
    expect(await estimatePromptTokens([{ content: 'hello' }])).toBe(7);
    expect(
      await estimatePromptTokens([{ content: [{ type: 'text', text: 'hello' }] }, { content: 'hello', name: 'bob' }]),
    ).toBe(13);
  });

  it('lets a prompt under the guard ratio of the window through', async () => {
    await expect(assertFitsContext(model, [{ content: 'word '.repeat(800) }], 0.9)).resolves.toBeUndefined();
  });

  it('rejects a prompt over it with context_length_exceeded naming model, limit and estimate', async () => {
    const attempt = assertFitsContext(model, [{ content: 'word '.repeat(1200) }], 0.9);
    await expect(attempt).rejects.toThrow(
      /prompt is about 120\d tokens; model tiny accepts up to 900 \(90% of its 1000-token context window\)/,
    );
  });
});

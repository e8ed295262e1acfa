import { describe, expect, it } from '@jest/globals';
import type { CatalogModel } from '../config/catalog.schema';
import { worstCasePico } from './worst-case';

const model = {
  id: 'gpt-4.1',
  provider: 'simulated',
  upstreamModel: 'gpt-4.1',
  contextWindow: 1_047_576,
  maxOutputTokens: 32_768,
  tier: 3,
  pricing: { inputPer1M: 2, outputPer1M: 8 },
} as CatalogModel;

describe('worst case of a request', () => {
  it('prices the prompt bound plus max_tokens at the catalog prices', () => {
    // 100 x $2/1M + 16 x $8/1M = $0.000328
    expect(worstCasePico(model, { max_tokens: 16 }, 100)).toBe(328_000_000n);
    expect(worstCasePico(model, { max_completion_tokens: 16, max_tokens: 999 }, 100)).toBe(328_000_000n);
  });

  it("uses the model's output cap without max_tokens, and never more than it", () => {
    expect(worstCasePico(model, {}, 0)).toBe(32_768n * 8_000_000n);
    expect(worstCasePico(model, { max_tokens: 1_000_000 }, 0)).toBe(32_768n * 8_000_000n);
    expect(worstCasePico({ ...model, maxOutputTokens: undefined }, {}, 0)).toBe(1_047_576n * 8_000_000n);
  });

  it('counts every one of n choices', () => {
    expect(worstCasePico(model, { max_tokens: 10, n: 3 }, 0)).toBe(30n * 8_000_000n);
  });
});

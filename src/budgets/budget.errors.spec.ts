import { describe, expect, it } from '@jest/globals';
import { worstCaseExceeds } from './spend-ticket';

describe('worstCaseExceeds', () => {
  it('writes the worst case and what is left so that they differ when the amounts do', () => {
    const sentence = worstCaseExceeds({ worstUsd: '0.26213', leftUsd: '0.26208' }, 'exceeds');
    expect(sentence).toContain("a single request's worst case ($0.26213) exceeds the $0.26208 left");
  });

  it('keeps the short form when it already tells them apart', () => {
    expect(worstCaseExceeds({ worstUsd: '0.262', leftUsd: '0.004' }, 'exceeds')).toContain(
      'worst case ($0.262) exceeds the $0.004 left',
    );
  });
});

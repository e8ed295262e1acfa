import { armLabel } from './canary-words';

describe('a canary in words', () => {
  it('names an arm by its variant, and its role only when the variant is not named after it', () => {
    expect(armLabel('treatment', 'treatment')).toBe('treatment');
    expect(armLabel('control', 'control')).toBe('control');
    expect(armLabel('deepseek', 'treatment')).toBe('deepseek (treatment)');
  });
});

import { grouped } from './grouped';

describe('a number as people read it', () => {
  it('groups the digits in threes with commas, as the control room and the API sentences both write it', () => {
    expect(grouped(1986)).toBe('1,986');
    expect(grouped(10_811)).toBe('10,811');
    expect(grouped(1_234_567)).toBe('1,234,567');
    expect(grouped(999)).toBe('999');
    expect(grouped(0)).toBe('0');
    expect(grouped(-1234)).toBe('-1,234');
  });

  it('keeps up to three decimals, ungrouped after the point', () => {
    expect(grouped(1234.5)).toBe('1,234.5');
    expect(grouped(0.12345)).toBe('0.123');
    expect(grouped(Math.round(-0.3))).toBe('0');
    expect(grouped(-0.0001)).toBe('0');
  });
});

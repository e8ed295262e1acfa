import { dollars, grouped } from './grouped';

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

describe('an amount of dollars as people read it', () => {
  it('writes a dollar or more to the cent, digits grouped', () => {
    expect(dollars(12_345.6789)).toBe('$12,345.68');
    expect(dollars(1_000_000)).toBe('$1,000,000.00');
    expect(dollars(1)).toBe('$1.00');
    expect(dollars(20)).toBe('$20.00');
    expect(dollars(0.99996)).toBe('$1.00');
  });

  it("keeps three significant digits below a dollar, at least the cents: a request's cost stays readable", () => {
    expect(dollars(0.5)).toBe('$0.50');
    expect(dollars(0.26219)).toBe('$0.262');
    expect(dollars(0.0523)).toBe('$0.0523');
    expect(dollars(0.004)).toBe('$0.004');
    expect(dollars(0.0001234)).toBe('$0.000123');
    expect(dollars(0.000001)).toBe('$0.000001');
    expect(dollars(0)).toBe('$0.00');
  });

  it('puts the minus before the dollar sign, and none on what rounds to nothing', () => {
    expect(dollars(-0.1925)).toBe('-$0.193');
    expect(dollars(-2.5)).toBe('-$2.50');
    expect(dollars(-12_345.678)).toBe('-$12,345.68');
    expect(dollars(-0)).toBe('$0.00');
    expect(dollars(-0.0000001)).toBe('-$0.0000001');
  });

  it('says infinity as such', () => {
    expect(dollars(Number.POSITIVE_INFINITY)).toBe('$∞');
    expect(dollars(Number.NEGATIVE_INFINITY)).toBe('-$∞');
  });
});

/**
 * A number as people read it, in the API's sentences and in the control room alike: digits grouped
 * in threes with commas (1,986; the same as `toLocaleString('en-US')`), at most three decimals. One
 * formatter for both, so a verdict's "n = 1,986" reads as the table beside it does.
 */
const FORMAT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });

export function grouped(value: number): string {
  const text = FORMAT.format(value);
  // Intl keeps the sign of -0 and of what rounds to it (Math.round(-0.3)); String() and people do not.
  return text === '-0' ? '0' : text;
}

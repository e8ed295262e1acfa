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

const CENTS = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const SIGNIFICANT = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3, maximumFractionDigits: 20 });

/**
 * An amount of US dollars as people read it, in the API's sentences and in the control room alike:
 * from a dollar up grouped like `grouped` and to the cent ($12,345.68); below a dollar three
 * significant digits, at least the cents ($0.50, $0.0523, $0.000123), so a request's cost keeps
 * what tells two apart while a budget's total does not drag fractions of a cent along. `decimals`:
 * exactly that many instead (a chart's axis, whose ticks the step between them sets apart).
 */
export function dollars(value: number, decimals?: number): string {
  const sign = value < 0 ? '-' : '';
  const size = Math.abs(value);
  if (!Number.isFinite(size)) return `${sign}$∞`;
  let text =
    decimals !== undefined
      ? new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(
          size,
        )
      : size < 1
        ? SIGNIFICANT.format(size)
        : CENTS.format(size);
  const written = text.split('.')[1]?.length ?? 0;
  if (written < 2 && decimals === undefined) text = written === 0 ? `${text}.00` : `${text}0`;
  // What rounds to nothing reads without a sign, as `grouped` writes it.
  return /[1-9]/.test(text) ? `${sign}$${text}` : `$${text}`;
}

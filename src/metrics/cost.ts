import type { ModelPricing } from '../config/catalog.schema';

/** Costs are kept in picodollars (1e-12 USD) as integers: the scale of the numeric(20,12) column. */
const PICO_DIGITS = 12;
/** Catalog prices have at most 6 decimals (validated), so price x 1e6 is a whole number. */
const PRICE_DIGITS = 6;

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * The exact cost of a request in USD as a decimal string for a numeric column, e.g. "0.000342000000".
 * Floats would drift when millions of tiny costs are summed; integers in picodollars do not.
 */
export function costUsd(pricing: ModelPricing, usage: TokenUsage): string {
  return formatPico(costPico(pricing, usage));
}

/** The same cost in picodollars, for sums and comparisons (spend budgets) without a decimal string. */
export function costPico(pricing: ModelPricing, usage: TokenUsage): bigint {
  // tokens x (USD per 1M) / 1e6 = tokens x (price x 1e6) picodollars.
  return (
    BigInt(usage.promptTokens) * scaledPrice(pricing.inputPer1M) +
    BigInt(usage.completionTokens) * scaledPrice(pricing.outputPer1M)
  );
}

/** Prices come from the catalog, a handful of distinct numbers: each is scaled once, not on every request. */
const scaledPrices = new Map<number, bigint>();

function scaledPrice(price: number): bigint {
  let scaled = scaledPrices.get(price);
  if (scaled === undefined) {
    scaled = scalePrice(price);
    scaledPrices.set(price, scaled);
  }
  return scaled;
}

function scalePrice(price: number): bigint {
  const [whole, fraction = ''] = String(price).split('.');
  if (fraction.length > PRICE_DIGITS || /e/i.test(String(price))) {
    throw new Error(
      `price ${price} has more than ${PRICE_DIGITS} decimals; the catalog validation should have refused it`,
    );
  }
  return BigInt(whole + fraction.padEnd(PRICE_DIGITS, '0'));
}

/** Picodollars as a USD decimal string with 12 decimals ("-0.000001000000" below zero). */
export function formatPico(pico: bigint): string {
  const sign = pico < 0n ? '-' : '';
  const digits = (pico < 0n ? -pico : pico).toString().padStart(PICO_DIGITS + 1, '0');
  return `${sign}${digits.slice(0, -PICO_DIGITS)}.${digits.slice(-PICO_DIGITS)}`;
}

/** A USD decimal (a numeric column's string, or a number with at most 12 decimals) in picodollars. */
export function picoOf(usd: string | number): bigint {
  const text = typeof usd === 'number' ? numberText(usd) : usd.trim();
  const match = /^(-?)(\d+)(?:\.(\d{0,12}))?$/.exec(text);
  if (!match) throw new RangeError(`"${text}" is not a USD amount with at most ${PICO_DIGITS} decimals`);
  const [, sign, whole, fraction = ''] = match;
  const pico = BigInt(whole + fraction.padEnd(PICO_DIGITS, '0'));
  return sign ? -pico : pico;
}

/** Picodollars as a JSON number of USD (for reports; sums stay in bigint). */
export function usdNumberOf(pico: bigint): number {
  return Number(formatPico(pico));
}

function numberText(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`${value} is not a USD amount`);
  // toFixed(12) of a number with at most 12 decimals is exact in its first 12 digits.
  return value.toFixed(PICO_DIGITS);
}

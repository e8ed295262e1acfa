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
  // tokens x (USD per 1M) / 1e6 = tokens x (price x 1e6) picodollars.
  const pico =
    BigInt(usage.promptTokens) * scaledPrice(pricing.inputPer1M) +
    BigInt(usage.completionTokens) * scaledPrice(pricing.outputPer1M);
  return formatPico(pico);
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

function formatPico(pico: bigint): string {
  const digits = pico.toString().padStart(PICO_DIGITS + 1, '0');
  return `${digits.slice(0, -PICO_DIGITS)}.${digits.slice(-PICO_DIGITS)}`;
}

/**
 * An effect's interval with each side the data cannot bound yet as null: one that is null or not
 * finite, and a ratio's lower side of 0, which is how exp(-∞) comes out of compareMetric. Such a side
 * written or compared as a number reads as a bound ("×0.00", or the guardrail closest to its margin),
 * so the verdict sentences (src/canary/verdict-text.ts) and the control room (ui/src/format.ts) both
 * read intervals through this.
 */
export function boundedSides(
  scale: string,
  interval: readonly [number | null, number | null],
): [number | null, number | null] {
  const [low, high] = interval;
  const lower = low !== null && Number.isFinite(low) && (scale !== 'ratio' || low > 0) ? low : null;
  const upper = high !== null && Number.isFinite(high) ? high : null;
  return [lower, upper];
}

import { BUCKET_COUNT } from './bucket';

// Rollout weights are basis points (integers 0..10000; 5% = 500, 12.34% = 1234): one per bucket.
export interface RolloutSlice {
  variant: string;
  basisPoints: number;
}

/*
 * Layout: the slices are laid end to end from bucket 0 in the order given — slice 1 owns
 * [0, w1), slice 2 owns [w1, w1 + w2), … — and every bucket from the sum of the weights up goes to
 * the default variant.
 *
 * What that guarantees, for a list whose order does not change (pickVariant is a pure function):
 * - One slice (the canary's case, a treatment going 5 → 15 → 35 → 65 → 100%): the treatment owns
 *   exactly the buckets below its weight, so raising the weight only moves default users into the
 *   treatment and lowering it only moves treatment users back to the default. 0 is nobody, 10000
 *   is everybody.
 * - Raising slice k by d, all else unchanged: users of slices before k and of slice k keep their
 *   variant, and the default only loses users. Slices after k slide up by d and keep their size,
 *   so some of their users change variant. Raising the last slice therefore only moves default
 *   users into it — keep the slice that ramps last in the order (or alone).
 * - Adding or removing a slice of weight 0 anywhere in the list moves nobody, so a variant can be
 *   declared before it ramps, even when the list is sorted by name.
 *
 * Callers must pass slices in an order that never depends on the weights or on how they were
 * stored (Postgres jsonb reorders object keys): sort by variant name.
 *
 * Why not give every variant a region of its own, so that any of them can grow without moving
 * users of the others? With one bucket per user and weights that may each reach 100%, it cannot be
 * done for three variants: the region A adds last when going 99.99% → 100% would have to be both
 * B's and C's first bucket, yet B and C at 0.01% each must not share it. For exactly two it can
 * (one grows up from 0, the other down from 9999), but then a slice's region depends on how many
 * slices there are, and declaring a third variant at 0% would move everyone in the second. The
 * simple layout keeps the property that matters — one ramping treatment — and the 0-weight one.
 */
export function pickVariant(bucket: number, slices: readonly RolloutSlice[], defaultVariant: string): string {
  let end = 0;
  for (let i = 0; i < slices.length; i++) {
    end += slices[i].basisPoints;
    if (bucket < end) return slices[i].variant;
  }
  return defaultVariant;
}

// pickVariant trusts its input because it runs per request; check a rollout once, when it is saved
// or loaded, so that a negative weight or an over-full rollout cannot silently reshape the layout.
export function assertValidRollout(slices: readonly RolloutSlice[]): void {
  const seen = new Set<string>();
  let total = 0;
  for (const { variant, basisPoints } of slices) {
    if (!Number.isInteger(basisPoints) || basisPoints < 0 || basisPoints > BUCKET_COUNT) {
      throw new RangeError(
        `rollout weight for "${variant}" must be an integer 0..${BUCKET_COUNT} basis points, got ${basisPoints}`,
      );
    }
    if (seen.has(variant)) throw new RangeError(`variant "${variant}" appears twice in the rollout`);
    seen.add(variant);
    total += basisPoints;
  }
  if (total > BUCKET_COUNT) {
    throw new RangeError(`rollout weights add up to ${total} basis points, more than ${BUCKET_COUNT}`);
  }
}

// Float percentages are not exact (12.34 * 100 = 1233.9999999999998), so accept a product within
// float error of an integer and reject anything finer than a basis point instead of rounding it
// away silently.
export function percentToBasisPoints(percent: number): number {
  if (Number.isNaN(percent) || percent < 0 || percent > 100) {
    throw new RangeError(`percentage must be between 0 and 100, got ${percent}`);
  }
  const scaled = percent * 100;
  const basisPoints = Math.round(scaled);
  if (Math.abs(scaled - basisPoints) > 1e-9) {
    throw new RangeError(`percentage may have at most two decimals, got ${percent}`);
  }
  return basisPoints === 0 ? 0 : basisPoints; // -0 → 0
}

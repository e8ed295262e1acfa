import { normalCdf, tQuantileFromNormal } from './normal';

// Math's functions as module constants: a global lookup per call is slow inside a vm context
// (jest), and the Monte Carlo calls these millions of times.
const { log, log1p, sqrt, exp, min, LN2 } = Math;

/*
 * Confidence sequences: intervals that hold at every look at once, so a canary may judge its
 * window every tick (hundreds of looks per stage) and still be wrong with probability at most
 * alpha over the whole stage.
 *
 * We use the asymptotic confidence sequences of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas,
 * "Time-uniform central limit theory and asymptotic confidence sequences" (Annals of Statistics,
 * 2024; arXiv:2103.06476), as GrowthBook's sequential testing does: an estimate with standard
 * error se is bounded by estimate ± w·se, where w comes from a normal mixture boundary in
 * "intrinsic time" V = ρ²·n. The mixing parameter ρ is fixed before the data by a planned sample
 * size N* (eq. 161 of the paper; GrowthBook's "tuning parameter"): ρ² = c(α)/N* with
 * c(α) = -2 ln α + ln(1 - 2 ln α), which makes the sequence tightest near n = N*.
 *
 * Our guardrails are one-sided (only "worse" matters), so w is the boundary of the one-sided,
 * half-normal mixture (Howard, Ramdas, McAuliffe & Sekhon, "Time-uniform, nonparametric,
 * nonasymptotic confidence sequences", Annals of Statistics 2021, §3.4): with λ ~ half-normal,
 *
 *   M(z) = 2/√(1+V) · exp(z²V / (2(1+V))) · Φ(z·√(V/(1+V)))
 *
 * and the one-sided sequence at level α stops where M(z) = 1/α (Ville's inequality). At the levels
 * a canary uses it is all but the two-sided boundary at 2α (a hair wider), but it is exact for one
 * side where that one only approximates it.
 */

/** c(α) of the ρ tuning: V = c(α) at n = N*. */
export function tuningConstant(alpha: number): number {
  const logAlpha = log(alpha);
  return -2 * logAlpha + log(1 - 2 * logAlpha);
}

/** V = ρ²n with ρ tuned for plannedN (N*); both in the same unit (requests of both arms). */
export function intrinsicTime(n: number, plannedN: number, alpha: number): number {
  if (!(n > 0) || !(plannedN > 0)) return 0;
  return (tuningConstant(alpha) * n) / plannedN;
}

/** ln M(z) of the one-sided half-normal mixture at intrinsic time V. */
export function logMixture(z: number, v: number): number {
  const scale = v / (1 + v);
  const phi = normalCdf(z * sqrt(scale));
  return LN2 - 0.5 * log1p(v) + (z * z * scale) / 2 + log(phi);
}

/**
 * The one-sided boundary: the z (estimate minus null, over its standard error) beyond which the
 * mixture exceeds 1/α. Infinity at V = 0 (no data). Solved by bisection on the bracket given by
 * the two-sided boundary at α, which always lies beyond it.
 */
export function boundaryZ(v: number, alpha: number): number {
  if (!(v > 0)) return Number.POSITIVE_INFINITY;
  const target = -log(alpha);
  let high = sqrt(((2 * (1 + v)) / v) * (target + 0.5 * log1p(v)));
  let low = 0;
  for (let i = 0; i < 60 && high - low > 1e-9; i++) {
    const mid = (low + high) / 2;
    if (logMixture(mid, v) < target) low = mid;
    else high = mid;
  }
  return high;
}

/**
 * The boundary widened for a variance estimated with `df` degrees of freedom: the Student-t
 * quantile of the same tail (see tQuantileFromNormal), so that noise in the standard error does
 * not make the sequence tighter than it should be.
 */
export function boundaryWithDf(v: number, alpha: number, df: number): number {
  const z = boundaryZ(v, alpha);
  return Number.isFinite(z) ? tQuantileFromNormal(z, df) : z;
}

/** The anytime-valid p-value at this look: 1/M(z), capped at 1 (z <= 0 says nothing). */
export function anytimePValue(z: number, v: number): number {
  if (!(z > 0) || !(v > 0)) return 1;
  return min(1, exp(-logMixture(z, v)));
}

/**
 * The two-sided boundary at level α (eq. 9 of Waudby-Smith et al.): for tests where either
 * direction is a problem, such as the share of requests an arm receives.
 */
export function twoSidedBoundaryZ(v: number, alpha: number): number {
  if (!(v > 0)) return Number.POSITIVE_INFINITY;
  return sqrt(((2 * (1 + v)) / v) * log(sqrt(1 + v) / alpha));
}

/** The two-sided anytime p-value: √(1+V)·exp(-z²V / (2(1+V))), capped at 1. */
export function twoSidedAnytimePValue(z: number, v: number): number {
  if (!(v > 0)) return 1;
  return min(1, sqrt(1 + v) * exp(-(z * z * v) / (2 * (1 + v))));
}

import { logGamma } from './normal';

/*
 * Sample-ratio mismatch, tested sequentially on units (users, and requests without a user):
 * the Dirichlet–multinomial Bayes factor of Lindon & Malek, "Anytime-valid inference for
 * multinomial count data" (NeurIPS 2022), for two arms a beta-binomial. Under correct assignment
 * units fall into the treatment independently with the weight in force, p; the mixture over
 * shares drawn from Beta(k·p, k·(1-p)) against that point null is a nonnegative martingale, so
 * 1 / (its value) is a p-value valid at every look.
 *
 * The prior is a mixture of two such Betas, and a mixture of these martingales is one too. Most of
 * its weight (1 − SRM_BROAD_WEIGHT) has concentration k = 2000, which spreads the share by about
 * √(p(1-p)/k), a few percent of p: the size of the losses that SRM checks exist for (a code path
 * that drops some treatment users), at the 10⁴–10⁵ users a stage sees at 100 requests/s. Alone, it
 * puts almost no weight on gross splits and so is slow to see them with few users (126 : 0 users at
 * an expected 50% gave p = 0.025). The rest has k = 2, nearly flat over the share, and sees such a
 * split within a few dozen users; it costs the narrow part at most a factor 1 / 0.9 on its p-value.
 */
export const SRM_PRIOR_CONCENTRATION = 2000;
const BROAD_PRIOR_CONCENTRATION = 2;
const SRM_BROAD_WEIGHT = 0.1;

export interface SrmResult {
  /** Anytime-valid: the split is off when it is below the threshold (0.001 by default). */
  pValue: number;
  expectedShare: number;
  observedShare: number | null;
}

export function srmTest(
  treatmentUnits: number,
  controlUnits: number,
  expectedShare: number,
  concentration = SRM_PRIOR_CONCENTRATION,
): SrmResult {
  const total = treatmentUnits + controlUnits;
  const observedShare = total > 0 ? treatmentUnits / total : null;
  if (total === 0 || !(expectedShare > 0 && expectedShare < 1)) {
    return { pValue: 1, expectedShare, observedShare };
  }
  const narrow = logBayesFactor(treatmentUnits, controlUnits, expectedShare, concentration);
  const broad = logBayesFactor(treatmentUnits, controlUnits, expectedShare, BROAD_PRIOR_CONCENTRATION);
  // log((1-w)·e^narrow + w·e^broad), kept in logs: either factor can be far beyond a double's range.
  const high = Math.max(narrow, broad);
  const mixed =
    high + Math.log((1 - SRM_BROAD_WEIGHT) * Math.exp(narrow - high) + SRM_BROAD_WEIGHT * Math.exp(broad - high));
  return { pValue: Math.min(1, Math.exp(-mixed)), expectedShare, observedShare };
}

/** The beta-binomial mixture over the treatment's share against the point null `expectedShare`. */
function logBayesFactor(treatment: number, control: number, expectedShare: number, concentration: number): number {
  const a = concentration * expectedShare;
  const b = concentration * (1 - expectedShare);
  const logMarginal = logBeta(a + treatment, b + control) - logBeta(a, b);
  const logNull = treatment * Math.log(expectedShare) + control * Math.log(1 - expectedShare);
  return logMarginal - logNull;
}

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

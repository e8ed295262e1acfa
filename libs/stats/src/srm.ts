import { logGamma } from './normal';

/*
 * Sample-ratio mismatch, tested sequentially on units (users, and requests without a user):
 * the Dirichlet–multinomial Bayes factor of Lindon & Malek, "Anytime-valid inference for
 * multinomial count data" (NeurIPS 2022), for two arms a beta-binomial. Under correct assignment
 * units fall into the treatment independently with the weight in force, p; the mixture over
 * shares drawn from Beta(k·p, k·(1-p)) against that point null is a nonnegative martingale, so
 * 1 / (its value) is a p-value valid at every look.
 *
 * k, the prior's concentration, sets which mismatches the test is quickest on: k = 2000 spreads
 * the prior's share by about √(p(1-p)/k), a few percent of p, the size of the losses that SRM
 * checks exist for (a code path that drops some treatment users), at the 10⁴–10⁵ users a stage
 * sees at 100 requests/s. Much larger mismatches are caught anyway.
 */
export const SRM_PRIOR_CONCENTRATION = 2000;

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
  const a = concentration * expectedShare;
  const b = concentration * (1 - expectedShare);
  const logMarginal = logBeta(a + treatmentUnits, b + controlUnits) - logBeta(a, b);
  const logNull = treatmentUnits * Math.log(expectedShare) + controlUnits * Math.log(1 - expectedShare);
  const logBayesFactor = logMarginal - logNull;
  return { pValue: Math.min(1, Math.exp(-logBayesFactor)), expectedShare, observedShare };
}

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

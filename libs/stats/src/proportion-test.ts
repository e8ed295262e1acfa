import { normalCdf } from './normal';

export interface FailureCount {
  failures: number;
  total: number;
}

export interface TwoProportionResult {
  treatmentRate: number;
  controlRate: number;
  /** treatmentRate - controlRate */
  difference: number;
  z: number;
  /** One-sided: the chance of a difference at least this large if both arms failed equally often. */
  pValue: number;
}

/*
 * One-sided pooled two-proportion z-test of H1 "the treatment fails more often than the control".
 * z = (p1 - p2) / sqrt(p̂(1 - p̂)(1/n1 + 1/n2)) with p̂ the pooled rate, p = 1 - Φ(z).
 * Why pooled: under H0 both arms share one failure rate, so that rate is estimated from both; it
 * also keeps the statistic defined when one arm has no failures at all. Why one-sided: the canary
 * only acts on a treatment that is worse; a better one needs no rollback. No continuity correction:
 * the gate only consults the test once the rate is already over a threshold, at hundreds of
 * requests per arm, where the correction changes nothing that matters.
 *
 * Degenerate inputs give z 0 and pValue 1 ("nothing can be said"), never NaN: an arm with no
 * requests (its rate is reported as 0), or both arms at 0% or both at 100% (no variance).
 * Negative, non-finite or impossible counts (failures > total) throw a RangeError.
 */
export function twoProportionTest(treatment: FailureCount, control: FailureCount): TwoProportionResult {
  assertCount('treatment', treatment);
  assertCount('control', control);
  const treatmentRate = rate(treatment);
  const controlRate = rate(control);
  const difference = treatmentRate - controlRate;
  const pooled = (treatment.failures + control.failures) / (treatment.total + control.total);
  const variance = pooled * (1 - pooled) * (1 / treatment.total + 1 / control.total);
  if (!(variance > 0 && Number.isFinite(variance))) {
    return { treatmentRate, controlRate, difference, z: 0, pValue: 1 };
  }
  const z = difference / Math.sqrt(variance);
  return { treatmentRate, controlRate, difference, z, pValue: normalCdf(-z) };
}

function rate({ failures, total }: FailureCount): number {
  return total === 0 ? 0 : failures / total;
}

function assertCount(arm: string, { failures, total }: FailureCount): void {
  if (!(Number.isFinite(total) && total >= 0)) throw new RangeError(`${arm} total must be >= 0, got ${total}`);
  if (!(Number.isFinite(failures) && failures >= 0 && failures <= total)) {
    throw new RangeError(`${arm} failures must be between 0 and total (${total}), got ${failures}`);
  }
}

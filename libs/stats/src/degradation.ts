import type { DegradationKey, HistogramName, Margin } from './metrics';
import { quantileOf, totalOf } from './histogram';

/*
 * Is the control unwell right now? A provider-wide incident makes both arms worse; the difference
 * between them stays near zero, so it does not roll the treatment back, but neither is it a time
 * to move more users: the canary holds. The control's last RECENT_SECONDS are compared with its
 * hour before (BASELINE_SECONDS, which includes the flag's traffic from before the canary): the
 * control is degraded on a metric when its recent value is worse than its own baseline by more
 * than the metric's margin, with a one-sided z of DEGRADATION_Z.
 *
 * This is a plain, fixed-horizon comparison, not a confidence sequence, and it ignores user
 * clustering: a false "degraded" only holds the canary for a tick or two, it never rolls back,
 * and a stage that keeps holding ends in a pause with an alert, never in a rollback.
 */
export const RECENT_SECONDS = 300;
export const BASELINE_SECONDS = 3600;
export const DEGRADATION_Z = 4;

export interface ControlWindow {
  requests: number;
  failures: number;
  histograms: Record<HistogramName, ArrayLike<number>>;
}

export interface DegradationInput {
  recent: ControlWindow;
  baseline: ControlWindow;
}

export interface DegradationCheck {
  key: DegradationKey;
  /** "error rate", "p95 latency"... */
  label: string;
  recent: number | null;
  baseline: number | null;
  margin: Margin;
  degraded: boolean;
}

const HISTOGRAM_LABEL: Record<HistogramName, string> = {
  latency: 'latency',
  ttft: 'time to first token',
  ttfb: 'time to first byte',
};

export function checkDegradation(
  input: DegradationInput,
  checks: ReadonlyArray<{ key: DegradationKey; margin: Margin }>,
  minRequests: number,
): DegradationCheck[] {
  const { recent, baseline } = input;
  const enough = recent.requests >= minRequests && baseline.requests >= minRequests;
  return checks.map(({ key, margin }) => {
    if (key === 'errorRate') {
      const r = recent.requests > 0 ? recent.failures / recent.requests : null;
      const b = baseline.requests > 0 ? baseline.failures / baseline.requests : null;
      const degraded = enough && r !== null && b !== null && rateDegraded(recent, baseline, margin);
      return { key, label: 'error rate', recent: r, baseline: b, margin, degraded };
    }
    const [histogram, q] = key.split(':') as [HistogramName, string];
    const quantile = Number(q);
    const rHist = recent.histograms[histogram];
    const bHist = baseline.histograms[histogram];
    const r = quantileOf(rHist, quantile);
    const b = quantileOf(bHist, quantile);
    const label = `${quantileLabel(quantile)} ${HISTOGRAM_LABEL[histogram]}`;
    const degraded = enough && r !== null && b !== null && quantileDegraded(rHist, bHist, quantile, margin);
    return { key, label, recent: r, baseline: b, margin, degraded };
  });
}

function rateDegraded(recent: ControlWindow, baseline: ControlWindow, margin: Margin): boolean {
  const shrunk = (w: ControlWindow) => (w.failures + 1) / (w.requests + 2);
  const variance = (w: ControlWindow) => (shrunk(w) * (1 - shrunk(w))) / w.requests;
  const r = recent.failures / recent.requests;
  const b = baseline.failures / baseline.requests;
  if ('absolute' in margin) {
    return r - b - DEGRADATION_Z * Math.sqrt(variance(recent) + variance(baseline)) > margin.absolute;
  }
  if (r <= 0 || b <= 0) return r > 0 && b <= 0 && recent.failures >= 10;
  const logSe = Math.sqrt(variance(recent) / r ** 2 + variance(baseline) / b ** 2);
  return Math.log(r / b) - DEGRADATION_Z * logSe > Math.log(1 + margin.relative);
}

function quantileDegraded(recent: ArrayLike<number>, baseline: ArrayLike<number>, q: number, margin: Margin): boolean {
  const bounds = (histogram: ArrayLike<number>) => {
    const n = totalOf(histogram);
    const se = Math.sqrt((q * (1 - q)) / n);
    return {
      estimate: quantileOf(histogram, q, n)!,
      lower: quantileOf(histogram, q - DEGRADATION_Z * se, n) ?? 0,
      upper: quantileOf(histogram, q + DEGRADATION_Z * se, n) ?? Number.POSITIVE_INFINITY,
    };
  };
  const r = bounds(recent);
  const b = bounds(baseline);
  if ('absolute' in margin) {
    const low = Math.hypot(r.estimate - r.lower, b.upper - b.estimate);
    return r.estimate - b.estimate - low > margin.absolute;
  }
  if (!(r.lower > 0 && b.estimate > 0) || !Number.isFinite(b.upper)) return false;
  const low = Math.hypot(Math.log(r.estimate / r.lower), Math.log(b.upper / b.estimate));
  return Math.log(r.estimate / b.estimate) - low > Math.log(1 + margin.relative);
}

export function quantileLabel(q: number): string {
  return q === 0.5 ? 'median' : `p${Math.round(q * 100)}`;
}

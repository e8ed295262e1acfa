import { boundaryZ, intrinsicTime } from './confidence-sequence';
import { grouped } from './grouped';

/*
 * The shadow stage's verdict: the candidate answered copies of the control's requests, so each
 * signal is compared pair by pair on the same prompts.
 *
 * - errors and quality signals: the paired difference of rates, d = (b − c) / n, where b counts
 *   the pairs only the candidate got wrong and c those only the control got wrong (McNemar's
 *   discordant pairs; concordant pairs cancel). Its standard error is √(b + c − (b − c)²/n) / n.
 *   The same anytime-valid confidence sequence as the live stages' guardrails (one-sided, tuned
 *   for the planned pairs): harm beyond the margin fails the stage at any look.
 * - latency: the median of the per-pair ratio candidate / control over pairs both answered, at
 *   most maxLatencyRatio; cost: the candidate's total over the control's on the pairs both
 *   answered, at most maxCostRatio; agreement: the share of judged pairs that agree, at least
 *   minAgreementRate. These are judged when the stage's time is up (or its spend cap reached).
 */

export interface PairedRate {
  /** Pairs where only the candidate is bad, and where only the control is. */
  candidateOnly: number;
  controlOnly: number;
  /** Pairs this signal is judged on. */
  pairs: number;
}

export interface ShadowSummary {
  pairs: number;
  errors: PairedRate;
  quality: PairedRate;
  /** Median of candidate latency / control latency over the pairs both answered; null without such pairs. */
  latencyRatio: number | null;
  /** Candidate's summed cost over the control's, on pairs both answered; null when the control's is 0. */
  costRatio: number | null;
  /** Pairs with an agreement signal, and those that agree. */
  agreement: { judged: number; agreed: number };
}

export interface ShadowThresholds {
  minPairs: number;
  /** How much higher the candidate's rate may be (absolute share), errors and quality signals. */
  errorMargin: number;
  qualityMargin: number;
  maxLatencyRatio: number;
  maxCostRatio: number;
  minAgreementRate: number | null;
  /** The stage's share of the canary's alpha. */
  alpha: number;
  /** Pairs the confidence sequences are tuned for. */
  plannedPairs: number;
}

export type ShadowSignal = 'errors' | 'quality' | 'latency' | 'cost' | 'agreement';
export type ShadowSignalStatus = 'harm' | 'within_margin' | 'inconclusive' | 'not_judged';

export interface ShadowSignalResult {
  signal: ShadowSignal;
  status: ShadowSignalStatus;
  /** The candidate's value against the control's: a rate difference, or a ratio, or the agreement rate. */
  estimate: number | null;
  /** The confidence sequence around a paired difference (errors, quality). */
  interval: { lower: number; upper: number } | null;
  limit: number | null;
  sentence: string;
}

export interface ShadowVerdict {
  outcome: 'pass' | 'fail' | 'insufficient_data';
  reasons: string[];
  signals: ShadowSignalResult[];
  pairs: number;
}

/** Judges one look at the shadow stage's pairs; `atStageEnd` adds the point checks. */
export function judgeShadow(summary: ShadowSummary, thresholds: ShadowThresholds, atStageEnd: boolean): ShadowVerdict {
  const perComparison = thresholds.alpha / 2;
  const signals: ShadowSignalResult[] = [
    pairedSignal('errors', summary.errors, thresholds.errorMargin, perComparison, thresholds.plannedPairs),
    pairedSignal('quality', summary.quality, thresholds.qualityMargin, perComparison, thresholds.plannedPairs),
    ratioSignal('latency', summary.latencyRatio, thresholds.maxLatencyRatio, atStageEnd, 'median latency'),
    ratioSignal('cost', summary.costRatio, thresholds.maxCostRatio, atStageEnd, 'cost'),
    agreementSignal(summary.agreement, thresholds.minAgreementRate, atStageEnd),
  ];
  if (summary.pairs < thresholds.minPairs) {
    return {
      outcome: 'insufficient_data',
      reasons: [`${grouped(summary.pairs)} pairs of the ${grouped(thresholds.minPairs)} needed`],
      signals,
      pairs: summary.pairs,
    };
  }
  const harmed = signals.filter((signal) => signal.status === 'harm');
  return {
    outcome: harmed.length > 0 ? 'fail' : 'pass',
    reasons: harmed.map((signal) => signal.sentence),
    signals,
    pairs: summary.pairs,
  };
}

function pairedSignal(
  signal: 'errors' | 'quality',
  rate: PairedRate,
  margin: number,
  alpha: number,
  plannedPairs: number,
): ShadowSignalResult {
  const what = signal === 'errors' ? 'error rate' : 'quality-signal rate';
  if (rate.pairs === 0) {
    return {
      signal,
      status: 'not_judged',
      estimate: null,
      interval: null,
      limit: margin,
      sentence: `no pairs for the ${what}`,
    };
  }
  const n = rate.pairs;
  const b = rate.candidateOnly;
  const c = rate.controlOnly;
  const difference = (b - c) / n;
  const se = Math.sqrt(Math.max(0, b + c - ((b - c) * (b - c)) / n)) / n;
  const w = boundaryZ(intrinsicTime(n, Math.max(plannedPairs, n), alpha), alpha);
  const interval = { lower: difference - w * se, upper: difference + w * se };
  const status: ShadowSignalStatus =
    interval.lower > margin ? 'harm' : interval.upper <= margin ? 'within_margin' : 'inconclusive';
  const points = (value: number) => `${(value * 100).toFixed(2)} points`;
  return {
    signal,
    status,
    estimate: difference,
    interval,
    limit: margin,
    sentence:
      `${what}: the candidate is worse on ${b} pairs and better on ${c} of ${n}, ${points(difference)} ` +
      `(interval ${points(interval.lower)} to ${points(interval.upper)}; margin ${points(margin)})`,
  };
}

function ratioSignal(
  signal: 'latency' | 'cost',
  ratio: number | null,
  limit: number,
  atStageEnd: boolean,
  what: string,
): ShadowSignalResult {
  if (ratio === null) {
    return {
      signal,
      status: 'not_judged',
      estimate: null,
      interval: null,
      limit,
      sentence: `no pairs for the ${what} ratio`,
    };
  }
  const status: ShadowSignalStatus = !atStageEnd ? 'inconclusive' : ratio > limit ? 'harm' : 'within_margin';
  return {
    signal,
    status,
    estimate: ratio,
    interval: null,
    limit,
    sentence: `${what}: the candidate's is ${ratio.toFixed(2)}x the control's (at most ${limit}x)`,
  };
}

function agreementSignal(
  agreement: ShadowSummary['agreement'],
  minRate: number | null,
  atStageEnd: boolean,
): ShadowSignalResult {
  const rate = agreement.judged > 0 ? agreement.agreed / agreement.judged : null;
  if (minRate === null || rate === null) {
    return {
      signal: 'agreement',
      status: 'not_judged',
      estimate: rate,
      interval: null,
      limit: minRate,
      sentence:
        rate === null ? 'no pairs with answers to compare' : `answers agree on ${(rate * 100).toFixed(1)}% of pairs`,
    };
  }
  const status: ShadowSignalStatus = !atStageEnd ? 'inconclusive' : rate < minRate ? 'harm' : 'within_margin';
  return {
    signal: 'agreement',
    status,
    estimate: rate,
    interval: null,
    limit: minRate,
    sentence: `agreement: answers agree on ${(rate * 100).toFixed(1)}% of ${agreement.judged} pairs (at least ${(minRate * 100).toFixed(1)}%)`,
  };
}

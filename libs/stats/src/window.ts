import { VARIANCE_BUCKETS, type ClusterSums } from './clustered';
import { HISTOGRAM_BINS, positionOf, quantileOf } from './histogram';
import type { Counter, HistogramName, JudgedMetric, OutcomeCounter } from './metrics';

/*
 * What the engine reads of one arm over a stage's window, in two steps, so that the same few
 * numbers come from SQL (src/metrics) or from the Monte Carlo simulator:
 *
 *  1. pooled: counts and histograms of the whole arm. From them planThresholds() works out the
 *     bins the second step must count below (each arm's own quantile estimates, and the
 *     abandonment threshold: the control's p95 time to first byte).
 *  2. buckets: per variance bucket (64, by a hash of the user), the counters and the rows below
 *     each planned bin: the cluster sums every variance in the engine is computed from.
 */

export interface ArmPooled {
  /** Distinct users, plus requests that came without a user (each its own unit). */
  units: number;
  /** Every row of the arm, whatever its outcome: the request share the SRM check compares. */
  rows: number;
  /** Rows the model is judged on (all but invalid_request and rejected). */
  requests: number;
  histograms: Record<HistogramName, ArrayLike<number>>;
}

/** One variance bucket of an arm: its counters, and its histogram rows below each planned bin. */
export interface ArmBucket {
  counters: Record<Counter | 'rows', number> & { [counter: OutcomeCounter]: number | undefined };
  below: number[];
}

export interface ArmWindow {
  pooled: ArmPooled;
  /** VARIANCE_BUCKETS entries, by bucket number (empty buckets all zero). */
  buckets: ArmBucket[];
}

export interface BelowSpec {
  histogram: 'latency' | 'ttft';
  bin: number;
}

export interface ThresholdPlan {
  /** A row abandoned before its first byte counts as an abandonment when its wait's bin is at least this. */
  abandonmentBin: number;
  treatment: BelowSpec[];
  control: BelowSpec[];
}

/**
 * The second step's bins. A quantile's variance needs the rows at or below it per bucket: it is
 * counted below the bin edge nearest the arm's own estimate. Abandonment waits past the control's
 * p95 time to first byte, rounded up to the next bin edge (9% at most: the grid's step).
 */
export function planThresholds(
  metrics: readonly JudgedMetric[],
  treatment: ArmPooled,
  control: ArmPooled | null,
): ThresholdPlan {
  const plan: ThresholdPlan = { abandonmentBin: HISTOGRAM_BINS, treatment: [], control: [] };
  const ttfb = control?.histograms.ttfb ?? treatment.histograms.ttfb;
  const p95 = quantileOf(ttfb, 0.95);
  if (p95 !== null) plan.abandonmentBin = Math.min(HISTOGRAM_BINS, Math.ceil(positionOf(p95) - 1e-9));
  for (const { definition, comparison } of metrics) {
    if (definition.kind !== 'quantile') continue;
    addSpec(plan.treatment, treatment, definition.histogram, definition.q);
    if (control && 'margin' in comparison) addSpec(plan.control, control, definition.histogram, definition.q);
  }
  return plan;
}

function addSpec(specs: BelowSpec[], arm: ArmPooled, histogram: 'latency' | 'ttft', q: number): void {
  const estimate = quantileOf(arm.histograms[histogram], q);
  if (estimate === null) return;
  const bin = Math.min(HISTOGRAM_BINS, Math.round(positionOf(estimate)));
  if (!specs.some((spec) => spec.histogram === histogram && spec.bin === bin)) specs.push({ histogram, bin });
}

/** The index in `specs` of the bin planned for this arm's q-quantile of `histogram`, or -1. */
export function belowIndex(
  specs: readonly BelowSpec[],
  arm: ArmPooled,
  histogram: 'latency' | 'ttft',
  q: number,
): number {
  const estimate = quantileOf(arm.histograms[histogram], q);
  if (estimate === null) return -1;
  const bin = Math.min(HISTOGRAM_BINS, Math.round(positionOf(estimate)));
  return specs.findIndex((spec) => spec.histogram === histogram && spec.bin === bin);
}

/** Cluster sums of numerator / denominator over the buckets. */
export function sumsOf(
  buckets: readonly ArmBucket[],
  numerator: (bucket: ArmBucket) => number,
  denominator: (bucket: ArmBucket) => number,
): ClusterSums {
  const sums = { clusters: 0, n: 0, y: 0, yy: 0, ny: 0, nn: 0 };
  for (let i = 0; i < buckets.length; i++) {
    const n = denominator(buckets[i]);
    if (n <= 0) continue;
    const y = numerator(buckets[i]);
    sums.clusters++;
    sums.n += n;
    sums.y += y;
    sums.yy += y * y;
    sums.ny += n * y;
    sums.nn += n * n;
  }
  return sums;
}

export function emptyBucket(belowCount = 0): ArmBucket {
  return {
    counters: {
      rows: 0,
      requests: 0,
      failures: 0,
      abandoned: 0,
      judgedRows: 0,
      invalid: 0,
      costUsd: 0,
      latencyRows: 0,
      ttftRows: 0,
      answers: 0,
      emptyAnswers: 0,
      truncatedAnswers: 0,
      invalidJsonAnswers: 0,
      schemaViolations: 0,
      malformedToolCalls: 0,
      refusals: 0,
    },
    below: new Array<number>(belowCount).fill(0),
  };
}

export function emptyBuckets(belowCount = 0): ArmBucket[] {
  return Array.from({ length: VARIANCE_BUCKETS }, () => emptyBucket(belowCount));
}

/** Several arms' pooled figures as one (e.g. every variant of a flag, for the preview). */
export function mergePooled(arms: readonly ArmPooled[]): ArmPooled {
  const merged: ArmPooled = {
    units: 0,
    rows: 0,
    requests: 0,
    histograms: { latency: emptyHistogramOf(), ttft: emptyHistogramOf(), ttfb: emptyHistogramOf() },
  };
  for (const arm of arms) {
    merged.units += arm.units;
    merged.rows += arm.rows;
    merged.requests += arm.requests;
    for (const name of ['latency', 'ttft', 'ttfb'] as const) {
      const into = merged.histograms[name] as number[];
      const from = arm.histograms[name];
      for (let k = 0; k < into.length; k++) into[k] += from[k] ?? 0;
    }
  }
  return merged;
}

/** Several arms' buckets as one, bucket by bucket (their `below` must count the same bins). */
export function mergeBuckets(arms: readonly ArmBucket[][], belowCount: number): ArmBucket[] {
  const merged = emptyBuckets(belowCount);
  for (const buckets of arms) {
    buckets.forEach((bucket, g) => {
      const into = merged[g];
      for (const key of Object.keys(bucket.counters) as Array<Counter | 'rows'>)
        into.counters[key] = (into.counters[key] ?? 0) + (bucket.counters[key] ?? 0);
      for (let i = 0; i < belowCount; i++) into.below[i] += bucket.below[i] ?? 0;
    });
  }
  return merged;
}

function emptyHistogramOf(): number[] {
  return new Array<number>(HISTOGRAM_BINS).fill(0);
}

import { ratioEstimate, welchDf, type RatioEstimate } from './clustered';
import { anytimePValue } from './confidence-sequence';
import { quantileOf, totalOf } from './histogram';
import type { Direction, JudgedMetric, Margin, MetricDefinition, QuantileMetric } from './metrics';
import { tQuantileFromNormal } from './normal';
import { belowIndex, sumsOf, type ArmWindow, type ThresholdPlan } from './window';

export type MetricStatus = 'harm' | 'within_margin' | 'inconclusive' | 'no_data';

/** One metric judged at one look: everything the evidence of a verdict shows about it. */
export interface MetricResult {
  metric: string;
  label: string;
  kind: MetricDefinition['kind'];
  /** A mean's unit, for sentences: "$" for cost, "" for a defined outcome's values. */
  unit?: string;
  direction: Direction;
  /** Against the control with a margin, or against a fixed limit on the treatment (a hard gate). */
  against: 'control' | 'limit';
  /** difference: treatment - control (or the treatment's value, for a limit); ratio: treatment / control. */
  scale: 'difference' | 'ratio';
  treatment: { estimate: number | null; n: number };
  control: { estimate: number | null; n: number } | null;
  effect: number | null;
  /**
   * The confidence sequence for the effect at this look (each side at `alpha`); null when there is
   * none. A side is null when the data cannot bound it yet (a p99 from a few hundred rows has no
   * upper bound): JSON has no Infinity.
   */
  interval: [number | null, number | null] | null;
  /** Where harm starts, on the effect's scale: +0.01, 1.2×, 2000 (a limit)... */
  margin: number;
  marginType: 'absolute' | 'relative' | 'limit';
  /** This comparison's share of the canary's alpha. */
  alpha: number;
  /** Anytime-valid p-value of "worse than the margin" at this look. */
  pValue: number;
  status: MetricStatus;
  /** The control is degraded on this metric too (see degradation.ts): harm here holds instead. */
  controlDegraded: boolean;
}

export interface CompareContext {
  treatment: ArmWindow;
  control: ArmWindow | null;
  plan: ThresholdPlan;
  /** The one-sided boundary in normal units at this look (boundaryZ(V, alpha)). */
  z: number;
  /** Intrinsic time, for the p-value. */
  v: number;
  alpha: number;
}

/** A side of an interval on the working scale (the difference, or the log of the ratio). */
interface Working {
  estimate: number;
  /** Distance from the estimate to the lower / upper bound (Infinity: unbounded). */
  low: number;
  high: number;
  /** The boundary multiplier used, to turn a half back into a standard error. */
  w: number;
}

export function compareMetric(judged: JudgedMetric, context: CompareContext): MetricResult {
  const { definition, comparison } = judged;
  const againstLimit = 'limit' in comparison;
  const margin: Margin | null = 'margin' in comparison ? comparison.margin : null;
  const relative = margin !== null && 'relative' in margin;
  const base: MetricResult = {
    metric: definition.key,
    label: definition.label,
    kind: definition.kind,
    ...(definition.kind === 'mean' ? { unit: definition.unit } : {}),
    direction: definition.direction,
    against: againstLimit ? 'limit' : 'control',
    scale: relative ? 'ratio' : 'difference',
    treatment: { estimate: null, n: 0 },
    control: context.control ? { estimate: null, n: 0 } : null,
    effect: null,
    interval: null,
    margin: againstLimit ? comparison.limit : marginOnEffectScale(margin!, definition.direction),
    marginType: againstLimit ? 'limit' : relative ? 'relative' : 'absolute',
    alpha: context.alpha,
    pValue: 1,
    status: 'no_data',
    controlDegraded: false,
  };
  if (!againstLimit && !context.control) return base;
  const arms =
    definition.kind === 'quantile'
      ? quantileArms(definition, context, againstLimit)
      : ratioArms(definition, context, againstLimit);
  base.treatment = arms.treatment.summary;
  // Also for a limit: a control past the same limit makes the treatment's breach a hold.
  if (base.control && arms.control) base.control = arms.control.summary;
  if (!arms.working) return base;

  const working = againstLimit ? arms.treatment.working : relative ? arms.working.ratio : arms.working.difference;
  if (!working) {
    base.status = 'inconclusive';
    return base;
  }
  const boundary = againstLimit ? comparison.limit : workingMargin(margin!, definition.direction);
  const toEffect = relative ? Math.exp : (x: number) => x;
  base.effect = finiteOrNull(toEffect(working.estimate));
  base.interval = [
    finiteOrNull(toEffect(working.estimate - working.low)),
    finiteOrNull(toEffect(working.estimate + working.high)),
  ];
  const worseIsUp = definition.direction === 'lower_is_better';
  const harmBound = worseIsUp ? working.estimate - working.low : working.estimate + working.high;
  const safeBound = worseIsUp ? working.estimate + working.high : working.estimate - working.low;
  const harmHalf = worseIsUp ? working.low : working.high;
  if (worseIsUp ? harmBound > boundary : harmBound < boundary) base.status = 'harm';
  else if (worseIsUp ? safeBound < boundary : safeBound > boundary) base.status = 'within_margin';
  else base.status = 'inconclusive';
  const beyond = worseIsUp ? working.estimate - boundary : boundary - working.estimate;
  base.pValue =
    Number.isFinite(harmHalf) && harmHalf > 0 ? anytimePValue((beyond * working.w) / harmHalf, context.v) : 1;
  return base;
}

/**
 * Neither harm nor safety is shown, but the best estimate of the effect is already past the margin
 * (or the treatment's past a hard gate's limit that the control keeps): what a stage with too few
 * requests says about a regression it cannot yet prove. Such a stage must not move more users on;
 * see canary-decision.ts.
 */
export function estimateBeyondMargin(result: MetricResult): boolean {
  if (result.status !== 'inconclusive' || result.effect === null) return false;
  // A limit the control breaks too is the provider's, not the treatment's (as for harm: a hold).
  if (result.against === 'limit' && controlBeyondLimit(result)) return false;
  return result.direction === 'lower_is_better' ? result.effect > result.margin : result.effect < result.margin;
}

/** For a hard gate: the control's own estimate is past the limit. */
export function controlBeyondLimit(result: MetricResult): boolean {
  const control = result.control?.estimate;
  if (control === undefined || control === null) return false;
  return result.direction === 'lower_is_better' ? control > result.margin : control < result.margin;
}

/** The margin as a point on the effect's scale: +0.01 or -0.01 (difference), 1.2 or 0.98 (ratio). */
function marginOnEffectScale(margin: Margin, direction: Direction): number {
  const sign = direction === 'lower_is_better' ? 1 : -1;
  return 'absolute' in margin ? sign * margin.absolute : 1 + sign * margin.relative;
}

function workingMargin(margin: Margin, direction: Direction): number {
  const onEffect = marginOnEffectScale(margin, direction);
  return 'absolute' in margin ? onEffect : Math.log(onEffect);
}

interface ArmSide {
  summary: { estimate: number | null; n: number };
  /** The treatment alone on the working scale (for a limit). */
  working: Working | null;
}

interface Arms {
  treatment: ArmSide;
  control: ArmSide | null;
  /** Null when there is nothing to compare (no rows in an arm). */
  working: { difference: Working | null; ratio: Working | null } | null;
}

function ratioArms(
  definition: Exclude<MetricDefinition, QuantileMetric>,
  context: CompareContext,
  alone: boolean,
): Arms {
  const binary = definition.kind === 'rate';
  const estimateOf = (arm: ArmWindow): RatioEstimate | null =>
    ratioEstimate(
      sumsOf(
        arm.buckets,
        (bucket) => bucket.counters[definition.numerator] ?? 0,
        (bucket) => bucket.counters[definition.denominator] ?? 0,
      ),
      binary,
    );
  const t = estimateOf(context.treatment);
  const c = context.control ? estimateOf(context.control) : null;
  const side = (estimate: RatioEstimate | null): ArmSide => ({
    summary: { estimate: estimate?.estimate ?? null, n: estimate?.n ?? 0 },
    working: null,
  });
  const treatment = side(t);
  if (t && alone) {
    const w = tQuantileFromNormal(context.z, t.df);
    const half = w * Math.sqrt(t.variance);
    treatment.working = { estimate: t.estimate, low: half, high: half, w };
  }
  if (!t || (!alone && !c)) return { treatment, control: c ? side(c) : null, working: null };
  if (alone) return { treatment, control: c ? side(c) : null, working: { difference: treatment.working, ratio: null } };
  const cc = c!;
  const w = tQuantileFromNormal(context.z, welchDf(t, cc));
  const differenceHalf = w * Math.sqrt(t.variance + cc.variance);
  const difference = { estimate: t.estimate - cc.estimate, low: differenceHalf, high: differenceHalf, w };
  let ratio: Working | null = null;
  if (t.estimate > 0 && cc.estimate > 0) {
    const logVariance = t.variance / t.estimate ** 2 + cc.variance / cc.estimate ** 2;
    const half = w * Math.sqrt(logVariance);
    ratio = { estimate: Math.log(t.estimate / cc.estimate), low: half, high: half, w };
  }
  return { treatment, control: side(cc), working: { difference, ratio } };
}

interface QuantileSide {
  estimate: number;
  /** Woodruff bounds of the quantile at the boundary multiplier. */
  lower: number;
  upper: number;
  n: number;
}

/*
 * Tail latency is judged on the quantile itself. Each arm's quantile gets a Woodruff interval
 * (Woodruff 1952; for clustered data Deng, Knoblich & Lu 2018, §4): the confidence sequence of
 * F(Q) — the share of rows at or below the quantile, a rate with a cluster-robust variance — mapped
 * back through the arm's histogram. The two arms' intervals, asymmetric as tails are, combine on
 * the log scale side by side: the lower bound of log(Q_T/Q_C) uses the treatment's lower half and
 * the control's upper half, and the other way round. A treatment whose p99 is better can only
 * have a negative log ratio: it is never rolled back for its tail.
 */
function quantileArms(definition: QuantileMetric, context: CompareContext, alone: boolean): Arms {
  const side = (arm: ArmWindow, plan: ThresholdPlan['treatment'], w: number): QuantileSide | null => {
    const histogram = arm.pooled.histograms[definition.histogram];
    const n = totalOf(histogram);
    const estimate = quantileOf(histogram, definition.q, n);
    if (estimate === null) return null;
    const index = belowIndex(plan, arm.pooled, definition.histogram, definition.q);
    const se = index < 0 ? Number.POSITIVE_INFINITY : Math.sqrt(belowVariance(arm, definition, index));
    const lower = quantileOf(histogram, definition.q - w * se, n) ?? 0;
    const upper = quantileOf(histogram, definition.q + w * se, n) ?? Number.POSITIVE_INFINITY;
    return { estimate, lower, upper, n };
  };
  const summary = (s: QuantileSide | null): ArmSide => ({
    summary: { estimate: s?.estimate ?? null, n: s?.n ?? 0 },
    working: null,
  });
  const control = context.control;
  const dfOf = (arm: ArmWindow, specs: ThresholdPlan['treatment']) => {
    const index = belowIndex(specs, arm.pooled, definition.histogram, definition.q);
    return index < 0 ? null : belowEstimate(arm, definition, index);
  };
  const tF = dfOf(context.treatment, context.plan.treatment);
  const cF = control ? dfOf(control, context.plan.control) : null;
  const df = tF && cF ? welchDf(tF, cF) : (tF?.df ?? 1);
  const w = tQuantileFromNormal(context.z, df);
  const t = side(context.treatment, context.plan.treatment, w);
  const treatment = summary(t);
  if (t) {
    treatment.working = { estimate: t.estimate, low: t.estimate - t.lower, high: t.upper - t.estimate, w };
  }
  const c = control ? side(control, context.plan.control, w) : null;
  const controlSide = control ? summary(c) : null;
  if (alone)
    return { treatment, control: controlSide, working: t ? { difference: treatment.working, ratio: null } : null };
  if (!t || !c) return { treatment, control: controlSide, working: null };
  const combine = (a: number, b: number) => Math.sqrt(a * a + b * b);
  const difference: Working = {
    estimate: t.estimate - c.estimate,
    low: combine(t.estimate - t.lower, c.upper - c.estimate),
    high: combine(t.upper - t.estimate, c.estimate - c.lower),
    w,
  };
  const log = (x: number) => (x > 0 ? Math.log(x) : Number.NEGATIVE_INFINITY);
  const ratio: Working | null =
    t.estimate > 0 && c.estimate > 0
      ? {
          estimate: Math.log(t.estimate / c.estimate),
          low: combine(log(t.estimate) - log(t.lower), log(c.upper) - log(c.estimate)),
          high: combine(log(t.upper) - log(t.estimate), log(c.estimate) - log(c.lower)),
          w,
        }
      : null;
  return { treatment, control: controlSide, working: { difference, ratio } };
}

function belowEstimate(arm: ArmWindow, definition: QuantileMetric, index: number): RatioEstimate | null {
  return ratioEstimate(
    sumsOf(
      arm.buckets,
      (bucket) => bucket.below[index] ?? 0,
      (bucket) => bucket.counters[definition.rows],
    ),
    true,
  );
}

function belowVariance(arm: ArmWindow, definition: QuantileMetric, index: number): number {
  return belowEstimate(arm, definition, index)?.variance ?? Number.POSITIVE_INFINITY;
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

import {
  boundedSides,
  dollars,
  estimateBeyondMargin,
  grouped,
  type DegradationCheck,
  type MetricResult,
  type StageVerdict,
} from '@switchyard/stats';
import type { CanaryDecision } from './canary.types';

/*
 * Verdicts in plain sentences with their numbers, for events, alerts and the on-call engineer:
 * "rolled back in stage 2 (15%): error rate +2.4 pp [+1.1, +3.7] > margin +1 pp at n = 1,903 / 10,811".
 */

export interface SentenceContext {
  decision: CanaryDecision;
  /** "stage 2 (15%)" */
  stageName: string;
  /** "stage 3 (35%)", for an advance. */
  nextStageName?: string;
  elapsedSeconds: number;
  durationSeconds: number;
  /** The stage's duration with every allowed extension. */
  limitSeconds: number;
  /** How long the stage may hold: its limit, at least half an hour. */
  holdLimitSeconds: number;
  maxStageExtensions: number;
  /** An extended stage: whether this look judged the estimates (a checkpoint), and when they are next judged. */
  promotionDue: boolean;
  nextCheckpointSeconds: number;
}

export function verdictSentence(verdict: StageVerdict, context: SentenceContext): string {
  const { decision, stageName } = context;
  const n = sampleSizes(verdict);
  switch (decision) {
    case 'rollback':
      return `rolled back in ${stageName}: ${harmful(verdict).map(metricClause).join('; ')}${n}`;
    case 'advance': {
      // Not "healthy": an estimate past its margin is only unproven, and the next stage judges it on more requests.
      const beyond = pastMargin(verdict);
      if (beyond)
        return (
          `${stageName} showed no harm after ${duration(context.elapsedSeconds)}, but ${beyond}, unproven${n}; ` +
          `advanced to ${context.nextStageName} to judge on more requests`
        );
      return `${stageName} healthy after ${duration(context.elapsedSeconds)}: ${healthy(verdict)}${n}; advanced to ${context.nextStageName}`;
    }
    case 'promote':
      return `${stageName} healthy after ${duration(context.elapsedSeconds)}: ${healthy(verdict)}${n}; promoted: treatment at 100%`;
    case 'hold':
      return `holding in ${stageName}: ${holdReasons(verdict)}${n}`;
    case 'extend': {
      const next = duration(context.nextCheckpointSeconds);
      if (!context.promotionDue)
        return (
          `judging extended ${stageName}, ${duration(context.elapsedSeconds)} (up to ${duration(context.limitSeconds)}): ` +
          `no harm shown, ${pastMargin(verdict) || healthy(verdict)}${n}; the estimates are judged for promotion at ${next}`
        );
      return (
        `extended ${stageName} after ${duration(context.elapsedSeconds)} of ${duration(context.durationSeconds)} ` +
        `(up to ${duration(context.limitSeconds)}): ${pastMargin(verdict)}, neither harm nor safety shown yet${n}; ` +
        `judging on: harm at every look, the estimates again at ${next}`
      );
    }
    case 'pause':
      return `paused in ${stageName}: ${pauseReason(verdict, context)}`;
    case 'wait':
      return verdict.outcome === 'insufficient_data'
        ? `waiting in ${stageName}: ${verdict.reasons.join('; ')}`
        : `judging ${stageName}, ${duration(context.elapsedSeconds)} of ${duration(context.durationSeconds)}: ${healthy(verdict)}${n}`;
  }
}

/** "error rate +1.8 pp [-0.9, +4.5] vs +1 pp is past its margin"; '' when no estimate is. */
function pastMargin(verdict: StageVerdict): string {
  const beyond = verdict.metrics.filter(estimateBeyondMargin);
  if (beyond.length === 0) return '';
  const past = beyond.length === 1 ? `is past its ${boundsOf(beyond)}` : `are past their ${boundsOf(beyond, true)}`;
  return `${beyond.map(metricClause).join(' and ')} ${past}`;
}

/** What the metrics are judged against: "margin(s)", "limit(s)" (hard gates), or both. */
function boundsOf(metrics: MetricResult[], plural = false): string {
  const limits = metrics.filter((metric) => metric.against === 'limit').length;
  const s = plural ? 's' : '';
  if (limits === 0) return `margin${s}`;
  return limits === metrics.length ? `limit${s}` : `margin${s} and limit${s}`;
}

function harmful(verdict: StageVerdict): MetricResult[] {
  return verdict.metrics.filter((metric) => metric.status === 'harm' && !metric.controlDegraded);
}

function healthy(verdict: StageVerdict): string {
  // Metrics bounded on their harmful side: an unbounded one is not yet judged against its margin.
  const judged = verdict.metrics.filter((metric) => metric.interval !== null && harmfulBound(metric) !== null);
  if (judged.length === 0) return 'nothing judged against a margin (no comparable data)';
  const closest = judged.reduce((worst, metric) => (closeness(metric) > closeness(worst) ? metric : worst));
  return `no guardrail worse than its margin (closest: ${metricClause(closest)})`;
}

/** The bound of the interval on the side where the metric gets worse; null when that side is unbounded. */
function harmfulBound(metric: MetricResult): number | null {
  // A ratio's lower side of 0 is exp(-∞), no bound: such a metric is not judged yet, however close it looks.
  const [low, high] = boundedSides(metric.scale, metric.interval!);
  return metric.direction === 'lower_is_better' ? high : low;
}

/** How far towards its margin a metric's bound on the harmful side has come: above 1 is past it. */
function closeness(metric: MetricResult): number {
  const bound = harmfulBound(metric)!;
  if (metric.scale === 'ratio') return Math.log(bound) / Math.log(metric.margin);
  return metric.margin === 0 ? 0 : bound / metric.margin;
}

function holdReasons(verdict: StageVerdict): string {
  const degraded = verdict.degradation.filter((check) => check.degraded).map(degradationClause);
  const held = verdict.metrics
    .filter((metric) => metric.status === 'harm' && metric.controlDegraded)
    .map((metric) => `${metricClause(metric)}, but the control is as unwell`);
  return [...(degraded.length > 0 ? [`control degraded too: ${degraded.join('; ')}`] : []), ...held].join('; ');
}

function pauseReason(verdict: StageVerdict, context: SentenceContext): string {
  const extensions = `after ${context.maxStageExtensions} extension${context.maxStageExtensions === 1 ? '' : 's'}`;
  switch (verdict.outcome) {
    case 'srm':
      return verdict.reasons.join('; ');
    case 'hold':
      return `still holding after ${duration(context.elapsedSeconds)} in the stage (it may hold ${duration(context.holdLimitSeconds)}): ${holdReasons(verdict)}`;
    case 'insufficient_data':
      return `too little traffic ${extensions}: ${verdict.reasons.join('; ')}`;
    case 'pass': {
      const beyond = verdict.metrics.filter(estimateBeyondMargin);
      return (
        `still past a ${boundsOf(beyond).replace(' and ', ' or ')} ${extensions} (${duration(context.elapsedSeconds)} in the stage): ` +
        `${beyond.map(metricClause).join('; ')}, neither harm nor safety shown; ` +
        'resume to judge a fresh window, or abort'
      );
    }
    default:
      return verdict.reasons.join('; ');
  }
}

function degradationClause(check: DegradationCheck): string {
  const value = (x: number | null) =>
    x === null ? '-' : check.key === 'errorRate' ? percent(x) : `${grouped(Math.round(x))} ms`;
  return `${check.label} ${value(check.recent)} in the last 5 min vs ${value(check.baseline)} in the hour before`;
}

/**
 * "error rate +2.4 pp [+1.1, +3.7] > margin +1 pp", "p99 latency ×2.02 [×1.71, ×2.40] > margin ×1.2";
 * where higher is better, harm lies below the margin: "conversion rate ×0.76 [×0.60, ×0.97] < margin ×0.98".
 */
export function metricClause(metric: MetricResult): string {
  if (metric.effect === null || metric.interval === null) return `${metric.label}: not enough data to compare`;
  const beyond = metric.direction === 'higher_is_better' ? '<' : '>';
  const comparison = metric.status === 'harm' ? beyond : metric.status === 'within_margin' ? 'within' : 'vs';
  const relation =
    metric.status === 'harm' ? `${comparison} ${metric.against === 'limit' ? 'limit' : 'margin'}` : comparison;
  const format = formatterOf(metric);
  const sign = metric.against === 'control' && metric.scale === 'difference';
  // The margin as it was set: "+1 pp", "×1.2", not "+1.0 pp", "×1.20".
  const margin = format(metric.margin, sign)
    .replace(/(\.\d*?)0+(?=\D*$)/, '$1')
    .replace(/\.(?=\D*$)/, '');
  return `${metric.label} ${format(metric.effect, sign)} ${intervalText(metric, format, sign)} ${relation} ${margin}`;
}

/**
 * "[×0.91, ×1.84]"; a side the data cannot bound yet (null; for a ratio also 0, which is how exp(-∞)
 * comes: boundedSides) is not written as a number, which reads as a bound: "[≤ ×1.84]", "[≥ -0.9]",
 * "[no bounds yet]".
 */
function intervalText(metric: MetricResult, format: Format, sign: boolean): string {
  const [lower, upper] = boundedSides(metric.scale, metric.interval!);
  if (lower === null) return upper === null ? '[no bounds yet]' : `[≤ ${format(upper, sign, false)}]`;
  if (upper === null) return `[≥ ${format(lower, sign, false)}]`;
  return `[${format(lower, sign, false)}, ${format(upper, sign, false)}]`;
}

type Format = (value: number, signed: boolean, unit?: boolean) => string;

function formatterOf(metric: MetricResult): Format {
  if (metric.scale === 'ratio')
    return (value) => `×${Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : '∞'}`;
  if (metric.kind === 'rate') {
    return (value, signed, unit = true) => {
      const points = value * 100;
      const text = Math.abs(points) < 0.1 && points !== 0 ? points.toFixed(2) : points.toFixed(1);
      return `${signed && points >= 0 ? '+' : ''}${Number.isFinite(points) ? text : '∞'}${unit ? (signed ? ' pp' : '%') : ''}`;
    };
  }
  if (metric.kind === 'mean') {
    // Only cost is in dollars; a defined outcome's mean (a rating, an order's value) has no unit here.
    if (metric.unit === '$') return (value, signed) => `${signed && value >= 0 ? '+' : ''}${dollars(value)}`;
    return (value, signed) => `${signed && value >= 0 ? '+' : ''}${plainNumber(value)}`;
  }
  return (value, signed, unit = true) =>
    `${signed && value >= 0 ? '+' : ''}${Number.isFinite(value) ? grouped(Math.round(value)) : '∞'}${unit ? ' ms' : ''}`;
}

/** 3 significant digits below 100 ("0.125", "4.5"), whole and grouped above ("1,250"). */
function plainNumber(value: number): string {
  if (!Number.isFinite(value)) return '∞';
  return Math.abs(value) >= 100 ? grouped(Math.round(value)) : String(Number(value.toPrecision(3)));
}

function sampleSizes(verdict: StageVerdict): string {
  const { treatment, control } = verdict.n;
  return control
    ? ` at n = ${grouped(treatment.requests)} / ${grouped(control.requests)}`
    : ` at n = ${grouped(treatment.requests)}`;
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate < 0.001 && rate > 0 ? 2 : 1)}%`;
}

function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  // "2.8 min", not "3 min": a stage's extensions end at a few minutes, and rounding up reads as their end.
  if (seconds < 600) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

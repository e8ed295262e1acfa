import { judgedMetrics, type CanaryAnalysis } from './canary-analysis';
import { ratioEstimate } from './clustered';
import { boundaryZ, tuningConstant } from './confidence-sequence';
import { grouped } from './grouped';
import { quantileOf, totalOf } from './histogram';
import type { Margin, MetricDefinition } from './metrics';
import { normalQuantile } from './normal';
import { belowIndex, sumsOf, type ArmWindow, type BelowSpec } from './window';

/*
 * Plan before start: from the flag's recent traffic, what each stage will see and what it can
 * detect. For every guardrail the smallest true regression a stage rolls back with 80% power by
 * its end is margin + (b + z₀.₈) × se, where se is the standard error of the difference with the
 * stage's expected requests per arm and the per-request variance of the recent traffic (clustered
 * by user, as the engine estimates it), and b is the confidence sequence's boundary at the stage's
 * planned size. A sequential test that looks all along has at least this power at the end; it
 * usually decides much earlier for larger regressions.
 */
export const PREVIEW_POWER = 0.8;

/**
 * Requests in a stage's window past which its looks slow down: every look aggregates all of the
 * stage's rows in Postgres, about 2 s per million (docs/benchmarks.md, `npm run bench:canary-tick`),
 * so at this size a look takes about the default tick interval (CANARY_TICK_SECONDS, 10 s).
 */
export const LARGE_STAGE_REQUESTS = 5_000_000;

export interface PreviewStageInput {
  percentage: number;
  durationSeconds: number;
}

export interface DetectableEffect {
  metric: string;
  label: string;
  scale: 'difference' | 'ratio';
  /** On the effect's scale: +0.01 (difference), 1.2 (ratio). */
  margin: number;
  /** The smallest true effect rolled back with 80% power by the stage's end (same scale); null: none measurable. */
  detectable: number | null;
}

export interface StagePlan {
  index: number;
  percentage: number;
  durationSeconds: number;
  expectedRequests: { treatment: number; control: number };
  /** False when the treatment will not reach minRequests in the stage's time. */
  enoughTraffic: boolean;
  detectable: DetectableEffect[];
}

export interface TrafficSummary {
  requestsPerSecond: number;
  users: number;
  errorRate: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  streamShare: number | null;
}

export interface CanaryPlan {
  traffic: TrafficSummary;
  stages: StagePlan[];
  /** Seconds until both arms of the first stage have minRequests: the first verdict that is not "wait". */
  firstDecisionSeconds: number | null;
  warnings: string[];
}

export function planCanary(input: {
  analysis: CanaryAnalysis;
  stages: readonly PreviewStageInput[];
  /** The flag's recent traffic, all variants together, with `below` counted at `specs`. */
  traffic: ArmWindow;
  /** planThresholds(metrics, traffic.pooled, null).treatment: the bins `below` was counted at. */
  specs: readonly BelowSpec[];
  /** How long `traffic` covers. */
  seconds: number;
}): CanaryPlan {
  const { analysis, traffic } = input;
  const rate = traffic.pooled.requests / input.seconds;
  const judgedStages = Math.max(1, input.stages.filter((stage) => stage.durationSeconds > 0).length);
  const metrics = judgedMetrics(analysis).filter(
    (metric): metric is { definition: MetricDefinition; comparison: { margin: Margin } } =>
      'margin' in metric.comparison,
  );
  const alpha = analysis.alpha / (judgedStages * Math.max(1, judgedMetrics(analysis).length));
  const warnings: string[] = [];
  if (rate === 0)
    warnings.push(
      `the flag had no judged requests in the last ${Math.round(input.seconds / 60)} min: nothing can be judged until it has traffic`,
    );
  const stages = input.stages.flatMap((stage, index): StagePlan[] => {
    if (stage.percentage >= 100 || stage.durationSeconds <= 0) return [];
    const total = rate * stage.durationSeconds;
    const treatment = (total * stage.percentage) / 100;
    const control = total - treatment;
    const z = boundaryZ(tuningConstant(alpha), alpha) + normalQuantile(PREVIEW_POWER);
    const enoughTraffic = treatment >= analysis.minRequests && control >= analysis.minRequests;
    if (total >= LARGE_STAGE_REQUESTS) {
      warnings.push(
        `stage ${index + 1} (${stage.percentage}%) expects about ${(total / 1e6).toFixed(1)} million requests: every look ` +
          `aggregates all of them in Postgres (about 2 s per million), so its looks will come less often than every tick, ` +
          `and past about 25 million a look exceeds the database's statement bound (DATABASE_STATEMENT_TIMEOUT_MS, 60 s) ` +
          `and the stage cannot be judged: prefer shorter stages`,
      );
    }
    if (!enoughTraffic) {
      warnings.push(
        `stage ${index + 1} (${stage.percentage}%) expects ${grouped(Math.round(treatment))} treatment and ${grouped(Math.round(control))} control requests, ` +
          `fewer than minRequests (${grouped(analysis.minRequests)}) in an arm: it will wait, extend, then pause`,
      );
    }
    return [
      {
        index,
        percentage: stage.percentage,
        durationSeconds: stage.durationSeconds,
        expectedRequests: { treatment: Math.round(treatment), control: Math.round(control) },
        enoughTraffic,
        detectable: metrics.map(({ definition, comparison }) =>
          detectable(definition, comparison.margin, traffic, input.specs, treatment, control, z),
        ),
      },
    ];
  });
  const first = input.stages[0];
  const smaller = first ? Math.min(first.percentage, 100 - first.percentage) / 100 : 0;
  const firstDecisionSeconds = rate > 0 && smaller > 0 ? analysis.minRequests / (rate * smaller) : null;
  return { traffic: summary(traffic, rate), stages, firstDecisionSeconds, warnings };
}

function detectable(
  definition: MetricDefinition,
  margin: Margin,
  traffic: ArmWindow,
  specs: readonly BelowSpec[],
  treatment: number,
  control: number,
  z: number,
): DetectableEffect {
  const sign = definition.direction === 'lower_is_better' ? 1 : -1;
  const relative = 'relative' in margin;
  const marginOnScale = relative ? 1 + sign * margin.relative : sign * margin.absolute;
  const result: DetectableEffect = {
    metric: definition.key,
    label: definition.label,
    scale: relative ? 'ratio' : 'difference',
    margin: marginOnScale,
    detectable: null,
  };
  const perRequest = perRequestSpread(definition, traffic, specs, relative);
  if (perRequest === null || !(treatment > 0 && control > 0)) return result;
  if (definition.kind === 'rate' && 'absolute' in margin) {
    const increase = detectableRateIncrease(definition, traffic, perRequest, margin.absolute, treatment, control, z);
    result.detectable = increase === null ? null : sign * increase;
    return result;
  }
  const se = perRequest * Math.sqrt(1 / treatment + 1 / control);
  result.detectable = relative ? Math.exp(Math.log(marginOnScale) + sign * z * se) : marginOnScale + sign * z * se;
  return result;
}

/**
 * A rate's variance grows with the rate: the treatment's is taken at the regression itself (its
 * rate is the control's plus the increase), with the traffic's design effect of clustering, and the
 * increase found by fixed-point iteration. Rare events (abandonment, usually 0) would otherwise
 * look detectable at their margin. Null when even a rate of 1 (every request) would not be
 * detected: too little traffic to measure the metric at all.
 */
function detectableRateIncrease(
  definition: MetricDefinition & { kind: 'rate' },
  traffic: ArmWindow,
  perRequest: number,
  margin: number,
  treatment: number,
  control: number,
  z: number,
): number | null {
  const sums = sumsOf(
    traffic.buckets,
    (bucket) => bucket.counters[definition.numerator] ?? 0,
    (bucket) => bucket.counters[definition.denominator] ?? 0,
  );
  const base = (sums.y + 1) / (sums.n + 2);
  const designEffect = Math.max(1, (perRequest * perRequest) / (base * (1 - base)));
  let increase = margin;
  for (let i = 0; i < 20; i++) {
    const rate = Math.min(1, base + increase);
    const se = Math.sqrt(designEffect * ((rate * (1 - rate)) / treatment + (base * (1 - base)) / control));
    increase = margin + z * se;
  }
  return base + increase < 1 ? increase : null;
}

/**
 * The standard deviation per request of the metric's estimate, clustered (the variance of the mean
 * times the requests it is over), on the log scale for relative margins; null when it cannot be
 * estimated (no such rows, a rate of 0 under a relative margin...).
 */
function perRequestSpread(
  definition: MetricDefinition,
  traffic: ArmWindow,
  specs: readonly BelowSpec[],
  relative: boolean,
): number | null {
  if (definition.kind !== 'quantile') {
    const estimate = ratioEstimate(
      sumsOf(
        traffic.buckets,
        (bucket) => bucket.counters[definition.numerator] ?? 0,
        (bucket) => bucket.counters[definition.denominator] ?? 0,
      ),
      definition.kind === 'rate',
    );
    if (!estimate || !Number.isFinite(estimate.variance)) return null;
    const spread = Math.sqrt(estimate.variance * estimate.n);
    if (!relative) return spread;
    return estimate.estimate > 0 ? spread / estimate.estimate : null;
  }
  const histogram = traffic.pooled.histograms[definition.histogram];
  const n = totalOf(histogram);
  const index = belowIndex(specs, traffic.pooled, definition.histogram, definition.q);
  const q = definition.q;
  const estimate = quantileOf(histogram, q, n);
  if (estimate === null || index < 0) return null;
  const cdf = ratioEstimate(
    sumsOf(
      traffic.buckets,
      (bucket) => bucket.below[index] ?? 0,
      (bucket) => bucket.counters[definition.rows],
    ),
    true,
  );
  if (!cdf) return null;
  const delta = Math.min(0.01, (1 - q) / 2, q / 2);
  const low = quantileOf(histogram, q - delta, n);
  const high = quantileOf(histogram, q + delta, n);
  if (!low || !high || !Number.isFinite(high)) return null;
  const slope = relative ? (Math.log(high) - Math.log(low)) / (2 * delta) : (high - low) / (2 * delta);
  return slope * Math.sqrt(cdf.variance * cdf.n);
}

function summary(traffic: ArmWindow, rate: number): TrafficSummary {
  const { histograms, requests, units } = traffic.pooled;
  const failures = traffic.buckets.reduce((sum, bucket) => sum + bucket.counters.failures, 0);
  const latencyRows = totalOf(histograms.latency);
  const streamed = totalOf(histograms.ttft);
  return {
    requestsPerSecond: rate,
    users: units,
    errorRate: requests > 0 ? failures / requests : null,
    latencyMs: {
      p50: quantileOf(histograms.latency, 0.5),
      p95: quantileOf(histograms.latency, 0.95),
      p99: quantileOf(histograms.latency, 0.99),
    },
    streamShare: latencyRows > 0 ? streamed / latencyRows : null,
  };
}

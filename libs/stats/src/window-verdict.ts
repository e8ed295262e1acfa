import { resolveCanaryAnalysis, type CanaryAnalysis } from './canary-analysis';
import { mannWhitneyUSorted, type MannWhitneyResult } from './mann-whitney';
import { sortedCopy, summarizeSorted } from './percentile';
import { twoProportionTest, type TwoProportionResult } from './proportion-test';

/** One arm's metrics over the window being judged. */
export interface ArmWindow {
  requests: number;
  /** Errors plus requests rescued by a fallback model: either way the arm's model failed them. */
  failures: number;
  /** Latencies of the window's requests, in any order. */
  latenciesMs: ArrayLike<number>;
  /** Total cost of the window's requests. */
  costUsd: number;
}

export interface LatencyStats {
  avg: number;
  p50: number;
  p95: number;
  p99: number;
}

/** What the verdict saw of one arm. null where there was nothing to compute it from. */
export interface ArmStats {
  requests: number;
  failures: number;
  failureRate: number | null;
  latencyMs: LatencyStats | null;
  costPerRequestUsd: number | null;
}

export interface VerdictCheck {
  name: string;
  /** false both for a gate that failed and for one that was exceeded but held (see detail). */
  passed: boolean;
  value: number | null;
  threshold: number | null;
  /** Why the check did not pass, as a sentence with the numbers. */
  detail?: string;
}

export type WindowOutcome = 'pass' | 'fail' | 'hold' | 'insufficient_data';

export interface WindowVerdict {
  outcome: WindowOutcome;
  /** A failing gate was exceeded by analysis.severeFactor: roll back now. Always false unless 'fail'. */
  severe: boolean;
  reasons: string[];
  checks: VerdictCheck[];
  /** JSON-serialisable as it is: no NaN or Infinity anywhere (null instead). */
  evidence: {
    treatment: ArmStats;
    control: ArmStats;
    /** Null when the control is not compared or there was too little data. */
    errorRateTest: TwoProportionResult | null;
    latencyTest: MannWhitneyResult | null;
  };
}

export interface WindowInput {
  treatment: ArmWindow;
  control: ArmWindow;
  analysis: CanaryAnalysis;
  /** The stage's time is up: the stricter stage-end gates apply too. */
  atStageEnd: boolean;
}

/*
 * Judges one window of a canary: is the treatment healthy enough to stay (pass), clearly worse
 * (fail), or unhealthy in a way the control shares or that is not yet clear (hold)? Deciding what
 * to do with the outcome (count failures in a row, roll back, advance) is the executor's job.
 *
 * - insufficient_data: the treatment, or the control when it is consulted (compareToControl or a
 *   cost ratio), has fewer than minRequests requests. Nothing else is judged: too little data
 *   must neither pass nor fail a treatment.
 * - Gates (a gate "is exceeded" when the treatment is past its limit):
 *     error_rate             failure rate > maxErrorRate
 *     p99_latency            p99 > maxP99LatencyMs
 *     stage_end_error_rate   at stage end: failure rate not below stageEnd.maxErrorRate
 *     stage_end_avg_latency  at stage end: mean latency not below stageEnd.maxAvgLatencyMs
 *     cost_per_request       cost per request > maxCostPerRequestUsd
 *     cost_ratio_to_control  cost per request > maxCostRatioToControl × the control's
 * - With compareToControl, an exceeded error or latency gate fails only when the treatment is also
 *   significantly worse than the control (two-proportion z-test for failures, Mann-Whitney U for
 *   latencies, one-sided p < significance); otherwise it holds. A provider-wide outage makes both
 *   arms bad, and rolling back the treatment for it would be wrong.
 * - The cost gates are not tested for significance: cost per request is the models' price list
 *   times token counts, a systematic difference rather than noise, and a budget is exceeded by the
 *   average actually spent whether or not it is "significant". (Only totals come in, so there is
 *   no per-request spread to test with anyway.)
 * - fail wins over hold, hold over pass; severe when a failing gate was past severeFactor × its
 *   limit. A latency gate with no latency samples to judge passes (with a detail saying so): the
 *   requests were counted, so a window whose requests all failed still fails on its error rate.
 *
 * Inputs are trusted to be consistent; impossible counts, non-finite numbers and an invalid
 * analysis (see resolveCanaryAnalysis) throw a RangeError.
 */
export function judgeWindow(input: WindowInput): WindowVerdict {
  const { treatment, control, analysis, atStageEnd } = input;
  const { problems } = resolveCanaryAnalysis(analysis);
  if (problems.length > 0) throw new RangeError(`invalid canary analysis: ${problems.join('; ')}`);
  assertArm('treatment', treatment);
  assertArm('control', control);

  // Sorted once here, for both the percentiles and the Mann-Whitney ranks.
  const treatmentLatencies = sortedCopy(treatment.latenciesMs);
  const controlLatencies = sortedCopy(control.latenciesMs);
  const t = armStats(treatment, treatmentLatencies);
  const c = armStats(control, controlLatencies);

  const sampleChecks = [sampleCheck('treatment', treatment.requests, analysis.minRequests)];
  if (analysis.compareToControl || analysis.maxCostRatioToControl !== null) {
    sampleChecks.push(sampleCheck('control', control.requests, analysis.minRequests));
  }
  if (sampleChecks.some((check) => !check.passed)) {
    return {
      outcome: 'insufficient_data',
      severe: false,
      reasons: reasonsOf(sampleChecks),
      checks: sampleChecks,
      evidence: { treatment: t, control: c, errorRateTest: null, latencyTest: null },
    };
  }

  const errorRateTest = analysis.compareToControl
    ? twoProportionTest({ failures: t.failures, total: t.requests }, { failures: c.failures, total: c.requests })
    : null;
  const latencyTest = analysis.compareToControl ? mannWhitneyUSorted(treatmentLatencies, controlLatencies) : null;
  // Enough requests were checked above, so rates and costs per request are numbers here.
  const tRate = t.failureRate as number;
  const cRate = c.failureRate as number;
  const tCost = t.costPerRequestUsd as number;
  const factor = analysis.severeFactor;

  // controlUnhealthy: the control is past the same limit, by the gate's own rule.
  const errorsVsControl = (controlUnhealthy: boolean): Comparison | null =>
    errorRateTest && { pValue: errorRateTest.pValue, worse: 'worse', control: percent(cRate), controlUnhealthy };
  const latencyVsControl = (
    statistic: 'avg' | 'p99',
    controlUnhealthy: (latency: number) => boolean,
  ): Comparison | null =>
    latencyTest && {
      pValue: latencyTest.pValue,
      worse: 'slower',
      control: c.latencyMs ? `${statistic} ${ms(c.latencyMs[statistic])}` : 'with no latency samples',
      controlUnhealthy: c.latencyMs !== null && controlUnhealthy(c.latencyMs[statistic]),
    };

  const gates: Gate[] = [
    {
      name: 'error_rate',
      subject: `treatment error rate ${percent(tRate)}`,
      value: tRate,
      threshold: analysis.maxErrorRate,
      exceeded: tRate > analysis.maxErrorRate,
      limit: `> ${percent(analysis.maxErrorRate)}`,
      severe: tRate > factor * analysis.maxErrorRate,
      vsControl: errorsVsControl(cRate > analysis.maxErrorRate),
    },
    {
      name: 'p99_latency',
      subject: `treatment p99 latency ${t.latencyMs ? ms(t.latencyMs.p99) : '-'}`,
      value: t.latencyMs?.p99 ?? null,
      threshold: analysis.maxP99LatencyMs,
      exceeded: t.latencyMs !== null && t.latencyMs.p99 > analysis.maxP99LatencyMs,
      limit: `> ${ms(analysis.maxP99LatencyMs)}`,
      severe: t.latencyMs !== null && t.latencyMs.p99 > factor * analysis.maxP99LatencyMs,
      vsControl: latencyVsControl('p99', (p99) => p99 > analysis.maxP99LatencyMs),
    },
  ];
  if (atStageEnd) {
    const { maxErrorRate, maxAvgLatencyMs } = analysis.stageEnd;
    gates.push(
      {
        name: 'stage_end_error_rate',
        subject: `at stage end, treatment error rate ${percent(tRate)}`,
        value: tRate,
        threshold: maxErrorRate,
        exceeded: tRate >= maxErrorRate,
        limit: `is not below ${percent(maxErrorRate)}`,
        severe: tRate > factor * maxErrorRate,
        vsControl: errorsVsControl(cRate >= maxErrorRate),
      },
      {
        name: 'stage_end_avg_latency',
        subject: `at stage end, treatment avg latency ${t.latencyMs ? ms(t.latencyMs.avg) : '-'}`,
        value: t.latencyMs?.avg ?? null,
        threshold: maxAvgLatencyMs,
        exceeded: t.latencyMs !== null && t.latencyMs.avg >= maxAvgLatencyMs,
        limit: `is not below ${ms(maxAvgLatencyMs)}`,
        severe: t.latencyMs !== null && t.latencyMs.avg > factor * maxAvgLatencyMs,
        vsControl: latencyVsControl('avg', (avg) => avg >= maxAvgLatencyMs),
      },
    );
  }
  if (analysis.maxCostPerRequestUsd !== null) {
    const max = analysis.maxCostPerRequestUsd;
    gates.push({
      name: 'cost_per_request',
      subject: `treatment cost per request ${usd(tCost)}`,
      value: tCost,
      threshold: max,
      exceeded: tCost > max,
      limit: `> ${usd(max)}`,
      severe: tCost > factor * max,
      vsControl: null,
    });
  }
  if (analysis.maxCostRatioToControl !== null) {
    const ratio = analysis.maxCostRatioToControl;
    const cCost = c.costPerRequestUsd as number;
    // The threshold is in dollars, not a ratio: a free control (cost 0) makes the ratio infinite.
    const max = ratio * cCost;
    gates.push({
      name: 'cost_ratio_to_control',
      subject: `treatment cost per request ${usd(tCost)}`,
      value: tCost,
      threshold: max,
      exceeded: tCost > max,
      limit: `> ${ratio}× control's ${usd(cCost)}`,
      severe: tCost > factor * max,
      vsControl: null,
    });
  }

  const judged = gates.map((gate) => judgeGate(gate, analysis));
  const checks = [...sampleChecks, ...judged.map((j) => j.check)];
  const failed = judged.filter((j) => j.outcome === 'fail');
  const outcome: WindowOutcome =
    failed.length > 0 ? 'fail' : judged.some((j) => j.outcome === 'hold') ? 'hold' : 'pass';
  return {
    outcome,
    severe: failed.some((j) => j.severe),
    reasons: outcome === 'pass' ? [`all ${checks.length} checks passed`] : reasonsOf(checks),
    checks,
    evidence: { treatment: t, control: c, errorRateTest, latencyTest },
  };
}

interface Comparison {
  pValue: number;
  /** "worse", "slower" */
  worse: string;
  /** The control's value as shown in a sentence. */
  control: string;
  /** The control is past the same limit too. */
  controlUnhealthy: boolean;
}

interface Gate {
  name: string;
  /** "treatment error rate 6.0%" */
  subject: string;
  /** null: nothing to judge (no latency samples). */
  value: number | null;
  threshold: number;
  exceeded: boolean;
  /** "> 2.0%" */
  limit: string;
  severe: boolean;
  /** Null when the gate does not consult the control. */
  vsControl: Comparison | null;
}

interface JudgedGate {
  check: VerdictCheck;
  outcome: 'pass' | 'fail' | 'hold';
  severe: boolean;
}

function judgeGate(gate: Gate, analysis: CanaryAnalysis): JudgedGate {
  const { name, value, threshold, vsControl } = gate;
  if (value === null) {
    return {
      check: { name, passed: true, value, threshold, detail: 'no latency samples in the window' },
      outcome: 'pass',
      severe: false,
    };
  }
  if (!gate.exceeded) return { check: { name, passed: true, value, threshold }, outcome: 'pass', severe: false };

  let detail = `${gate.subject} ${gate.limit}`;
  if (vsControl && !(vsControl.pValue < analysis.significance)) {
    detail +=
      `, but not significantly ${vsControl.worse} than control ${vsControl.control} (${pValue(vsControl.pValue)}): ` +
      (vsControl.controlUnhealthy ? 'control is unhealthy too, holding' : 'holding until the difference is clear');
    return { check: { name, passed: false, value, threshold, detail }, outcome: 'hold', severe: false };
  }
  if (vsControl) detail += ` and ${vsControl.worse} than control ${vsControl.control} (${pValue(vsControl.pValue)})`;
  if (gate.severe) detail += ` (severe: more than ${analysis.severeFactor}× the limit)`;
  return { check: { name, passed: false, value, threshold, detail }, outcome: 'fail', severe: gate.severe };
}

function sampleCheck(arm: 'treatment' | 'control', requests: number, minRequests: number): VerdictCheck {
  const check: VerdictCheck = {
    name: `${arm}_requests`,
    passed: requests >= minRequests,
    value: requests,
    threshold: minRequests,
  };
  if (!check.passed)
    check.detail = `${arm} has ${requests} requests in the window, fewer than the ${minRequests} needed`;
  return check;
}

function reasonsOf(checks: VerdictCheck[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => check.detail as string);
}

function armStats(arm: ArmWindow, sortedLatencies: Float64Array): ArmStats {
  const summary = summarizeSorted(sortedLatencies);
  return {
    requests: arm.requests,
    failures: arm.failures,
    failureRate: arm.requests === 0 ? null : arm.failures / arm.requests,
    latencyMs: summary.count === 0 ? null : { avg: summary.mean, p50: summary.p50, p95: summary.p95, p99: summary.p99 },
    costPerRequestUsd: arm.requests === 0 ? null : arm.costUsd / arm.requests,
  };
}

function assertArm(arm: string, { requests, failures, costUsd }: ArmWindow): void {
  if (!(Number.isInteger(requests) && requests >= 0))
    throw new RangeError(`${arm} requests must be an integer >= 0, got ${requests}`);
  if (!(Number.isInteger(failures) && failures >= 0 && failures <= requests)) {
    throw new RangeError(`${arm} failures must be an integer between 0 and requests (${requests}), got ${failures}`);
  }
  if (!(Number.isFinite(costUsd) && costUsd >= 0)) throw new RangeError(`${arm} costUsd must be >= 0, got ${costUsd}`);
}

// 1 decimal ("6.0%"), unless that would show a non-zero rate as 0.0%.
function percent(rate: number): string {
  const value = rate * 100;
  return `${value > 0 && value < 0.05 ? value.toPrecision(2) : value.toFixed(1)}%`;
}

function ms(value: number): string {
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

function usd(value: number): string {
  return `$${value.toPrecision(3)}`;
}

function pValue(p: number): string {
  return p < 0.0001 ? 'p<0.0001' : `p=${p.toFixed(4)}`;
}

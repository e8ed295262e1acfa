import { judgedMetrics, type CanaryAnalysis } from './canary-analysis';
import { compareMetric, controlBeyondLimit, type MetricResult } from './compare';
import { boundaryZ, intrinsicTime } from './confidence-sequence';
import { checkDegradation, type DegradationCheck, type DegradationInput } from './degradation';
import type { DegradationKey, JudgedMetric, Margin } from './metrics';
import { grouped } from './grouped';
import { srmTest } from './srm';
import type { ArmWindow, ThresholdPlan } from './window';

export type StageOutcome = 'pass' | 'fail' | 'hold' | 'insufficient_data' | 'srm';

export interface StageInput {
  analysis: CanaryAnalysis;
  /** Stages with a duration (each may be judged): the canary's alpha is split over them. */
  judgedStages: number;
  /** Requests of both arms the stage is planned for (N*): where its confidence sequences are tightest. */
  plannedRequests: number;
  treatment: ArmWindow;
  /** Null when there is no control to compare with (the treatment is at 100%). */
  control: ArmWindow | null;
  plan: ThresholdPlan;
  /** The treatment's expected share of units under the weights in force, or why it cannot be checked. */
  srm: { expectedShare: number } | { skipped: string };
  /**
   * The control's recent and baseline windows; null when there is no control, or when they were
   * not read because they could not change the decision (see controlHealthMatters).
   */
  degradation: DegradationInput | null;
}

export interface SrmEvidence {
  checked: boolean;
  /** Why not, when not checked. */
  skipped?: string;
  expectedShare: number | null;
  /** What is tested: users, plus requests that came without a user (each its own unit). */
  units: { treatment: number; control: number };
  /** Every row of each arm, for reference: not tested, see srmEvidence. */
  requests: { treatment: number; control: number };
  /** Anytime-valid p-value of the units' split (users, and requests without a user). */
  pValue: number;
  threshold: number;
  mismatch: boolean;
}

export interface StageVerdict {
  outcome: StageOutcome;
  /** One sentence per reason the outcome is not a pass (the failing metric, the SRM counts...). */
  reasons: string[];
  metrics: MetricResult[];
  srm: SrmEvidence;
  degradation: DegradationCheck[];
  alpha: { canary: number; perComparison: number; stages: number; comparisons: number };
  n: { treatment: { requests: number; users: number }; control: { requests: number; users: number } | null };
  /** Where the confidence sequences are in their intrinsic time V (c(α)·n/N*). */
  intrinsicTime: number;
  plannedRequests: number;
  /** The canary's primary outcome metric (analysis.primaryOutcome): its effect and cost per outcome per arm. */
  primary?: PrimaryOutcome | null;
}

/** One arm of the primary outcome metric: its value, units, outcomes counted, and what they cost. */
export interface PrimaryArm {
  estimate: number | null;
  n: number;
  /** Σ of the metric's values over the arm's units (conversions, for a binary metric). */
  outcomes: number;
  /** What the arm's judged requests in the stage cost. */
  costUsd: number;
  /** costUsd / outcomes: e.g. the cost per conversion; null without outcomes. */
  costPerOutcomeUsd: number | null;
}

export interface PrimaryOutcome {
  metric: string;
  label: string;
  direction: MetricResult['direction'];
  /** treatment − control (or treatment / control for a relative margin), with its confidence sequence at this look. */
  scale: MetricResult['scale'];
  effect: number | null;
  interval: MetricResult['interval'];
  /** The interval's coverage: 1 − 2 × the comparison's alpha (each side at alpha), valid at every look. */
  level: number;
  treatment: PrimaryArm;
  control: PrimaryArm | null;
}

/*
 * Judges one look at a stage's window (see docs/statistics.md):
 *
 * - srm: the units' or the requests' split is off the weights in force (anytime p below
 *   analysis.srmPValue): the data cannot be trusted, whatever else it says.
 * - insufficient_data: an arm has fewer than minRequests requests.
 * - fail: some metric's confidence sequence lies wholly on the harmful side of its margin (or a
 *   hard gate's limit), and the control is not degraded on that metric.
 * - hold: the control is degraded (a shared incident), on a metric showing harm or on any other.
 * - pass: none of the above; whether the stage may advance is the caller's (its time must be up).
 *
 * Each comparison's alpha is analysis.alpha / (judgedStages × comparisons), Bonferroni over every
 * stage and every guardrail and gate, so the canary's chance of rolling back a treatment that is
 * within all its margins is at most analysis.alpha.
 */
export function judgeStage(input: StageInput): StageVerdict {
  const { analysis, treatment, control } = input;
  const metrics = judgedMetrics(analysis);
  const comparisons = Math.max(1, metrics.length);
  const perComparison = analysis.alpha / (Math.max(1, input.judgedStages) * comparisons);
  const requests = treatment.pooled.requests + (control?.pooled.requests ?? 0);
  const v = intrinsicTime(requests, input.plannedRequests, perComparison);
  const verdict: StageVerdict = {
    outcome: 'pass',
    reasons: [],
    metrics: [],
    srm: srmEvidence(input),
    degradation: [],
    alpha: { canary: analysis.alpha, perComparison, stages: input.judgedStages, comparisons },
    n: {
      treatment: { requests: treatment.pooled.requests, users: treatment.pooled.units },
      control: control ? { requests: control.pooled.requests, users: control.pooled.units } : null,
    },
    intrinsicTime: v,
    plannedRequests: input.plannedRequests,
  };
  if (verdict.srm.mismatch) {
    verdict.outcome = 'srm';
    verdict.reasons.push(srmSentence(verdict.srm));
    return verdict;
  }
  const short = [['treatment', treatment] as const, ...(control ? [['control', control] as const] : [])].filter(
    ([, arm]) => arm.pooled.requests < analysis.minRequests,
  );
  if (short.length > 0) {
    verdict.outcome = 'insufficient_data';
    verdict.reasons = short.map(
      ([name, arm]) =>
        `${name} has ${grouped(arm.pooled.requests)} request${arm.pooled.requests === 1 ? '' : 's'} in the stage, fewer than the ${grouped(analysis.minRequests)} needed`,
    );
    return verdict;
  }

  const z = boundaryZ(v, perComparison);
  const context = { treatment, control, plan: input.plan, z, v, alpha: perComparison };
  verdict.metrics = metrics.map((metric) => compareMetric(metric, context));
  verdict.primary = primaryOf(analysis.primaryOutcome, metrics, verdict.metrics, input, perComparison);
  if (input.degradation) {
    verdict.degradation = checkDegradation(input.degradation, degradationChecks(analysis), analysis.minRequests);
  }
  const degraded = new Set(verdict.degradation.filter((check) => check.degraded).map((check) => check.key));
  metrics.forEach(({ definition, comparison }, index) => {
    const result = verdict.metrics[index];
    if (result.status !== 'harm') return;
    const sharedIncident = definition.degradation !== null && degraded.has(definition.degradation);
    // A hard gate the control breaks too is the provider's limit, not the treatment's.
    const controlPastLimit = 'limit' in comparison && controlBeyondLimit(result);
    result.controlDegraded = sharedIncident || controlPastLimit;
  });
  const harmful = verdict.metrics.filter((result) => result.status === 'harm' && !result.controlDegraded);
  const held = verdict.metrics.filter((result) => result.status === 'harm' && result.controlDegraded);
  if (harmful.length > 0) {
    verdict.outcome = 'fail';
    verdict.reasons = harmful.map((result) => `${result.label} worse than allowed`);
  } else if (degraded.size > 0 || held.length > 0) {
    verdict.outcome = 'hold';
    verdict.reasons = [
      ...verdict.degradation.filter((check) => check.degraded).map((check) => `control ${check.label} degraded too`),
      ...held.filter((r) => r.against === 'limit').map((r) => `control past the ${r.label} limit too`),
    ];
  }
  return verdict;
}

/**
 * Whether the control's health can change what this verdict leads to: only a rollback (harm, which
 * a shared incident turns into a hold) or an advance (a pass at the stage's end, which an incident
 * holds). Judging the stage before reading the control's windows, and again with them only then,
 * spares the database a scan of the control's last hour on most looks; before the stage's end and
 * with no harm, the decision is to wait either way.
 */
export function controlHealthMatters(verdict: StageVerdict, atStageEnd: boolean): boolean {
  return verdict.outcome === 'fail' || (verdict.outcome === 'pass' && atStageEnd);
}

function primaryOf(
  key: string | undefined,
  metrics: readonly JudgedMetric[],
  results: readonly MetricResult[],
  input: StageInput,
  alpha: number,
): PrimaryOutcome | null {
  if (key === undefined) return null;
  const index = results.findIndex((result) => result.metric === key);
  if (index < 0) return null;
  const result = results[index];
  const definition = metrics[index].definition;
  if (definition.kind === 'quantile') return null;
  const numerator = definition.numerator;
  const armOf = (arm: ArmWindow, summary: { estimate: number | null; n: number }): PrimaryArm => {
    let outcomes = 0;
    let costUsd = 0;
    for (const bucket of arm.buckets) {
      outcomes += bucket.counters[numerator] ?? 0;
      costUsd += bucket.counters.costUsd;
    }
    return { ...summary, outcomes, costUsd, costPerOutcomeUsd: outcomes > 0 ? costUsd / outcomes : null };
  };
  return {
    metric: result.metric,
    label: result.label,
    direction: result.direction,
    scale: result.scale,
    effect: result.effect,
    interval: result.interval,
    level: 1 - 2 * alpha,
    treatment: armOf(input.treatment, result.treatment),
    control: input.control && result.control ? armOf(input.control, result.control) : null,
  };
}

/** The checks of the control that the analysis's guardrails and gates map to, each with its margin. */
function degradationChecks(analysis: CanaryAnalysis): Array<{ key: DegradationKey; margin: Margin }> {
  const checks = new Map<DegradationKey, Margin>();
  for (const { definition, comparison } of judgedMetrics(analysis)) {
    const key = definition.degradation;
    if (key === null || checks.has(key)) continue;
    const sameMeasure = key === 'errorRate' ? definition.key === 'errorRate' : definition.kind === 'quantile';
    const own = 'margin' in comparison && sameMeasure ? comparison.margin : null;
    checks.set(key, own ?? (key === 'errorRate' ? { absolute: 0.01 } : { relative: 0.2 }));
  }
  return [...checks].map(([key, margin]) => ({ key, margin }));
}

/*
 * The split is tested on units, where assignment happens: a user (sticky) or a request that came
 * without one. Rows of one user all go to one arm, so the rows' split wanders far more than a
 * binomial's (a heavy user moves it by hundreds of rows), and it also moves when the treatment
 * changes how often users retry: a test on rows either pauses healthy canaries or, made robust to
 * both, catches nothing a test on units does not. Rows are reported, not tested.
 */
function srmEvidence(input: StageInput): SrmEvidence {
  const { treatment, control, analysis } = input;
  const base: SrmEvidence = {
    checked: false,
    expectedShare: null,
    units: { treatment: treatment.pooled.units, control: control?.pooled.units ?? 0 },
    requests: { treatment: treatment.pooled.rows, control: control?.pooled.rows ?? 0 },
    pValue: 1,
    threshold: analysis.srmPValue,
    mismatch: false,
  };
  if ('skipped' in input.srm) return { ...base, skipped: input.srm.skipped };
  if (!control) return { ...base, skipped: 'no control arm at 100%' };
  const expected = input.srm.expectedShare;
  const { pValue } = srmTest(base.units.treatment, base.units.control, expected);
  return { ...base, checked: true, expectedShare: expected, pValue, mismatch: pValue < analysis.srmPValue };
}

function srmSentence(srm: SrmEvidence): string {
  const share = (srm.expectedShare ?? 0) * 100;
  return (
    `sample ratio mismatch: ${grouped(srm.units.treatment)} treatment / ${grouped(srm.units.control)} control users ` +
    `and ${grouped(srm.requests.treatment)} / ${grouped(srm.requests.control)} requests, where the weights in force give the treatment ${share.toFixed(share < 10 ? 1 : 0)}% ` +
    `(p = ${srm.pValue.toPrecision(2)} < ${srm.threshold})`
  );
}

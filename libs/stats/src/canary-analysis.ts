import {
  GUARDRAIL_KEYS,
  GUARDRAIL_METRICS,
  QUALITY_METRICS,
  outcomeMetricDefinition,
  type DefinedOutcome,
  type GuardrailKey,
  type JudgedMetric,
  type Margin,
  type QualityMetricKey,
} from './metrics';

/** Absolute limits on the treatment alone; off (null) by default. */
export interface HardGates {
  maxErrorRate: number | null;
  maxP99LatencyMs: number | null;
  maxCostPerRequestUsd: number | null;
}

/** How a canary judges its treatment against the control (see judgeStage and docs/statistics.md). */
export interface CanaryAnalysis {
  /**
   * The chance, over the whole canary, of rolling back a treatment that is within every margin:
   * split evenly over the stages judged and the guardrails and gates turned on (Bonferroni).
   */
  alpha: number;
  /** Requests each arm needs in a stage before anything is judged. */
  minRequests: number;
  /** How much worse than the control each metric may be; null turns it off. */
  guardrails: Record<GuardrailKey, Margin | null>;
  hardGates: HardGates;
  /**
   * Outcome metrics judged like guardrails: each with how much worse than the control it may be.
   * Today the built-in answer-quality signals (QUALITY_METRIC_KEYS). Absent on canaries stored
   * before it existed: read it as `outcomes ?? []`.
   */
  outcomes?: OutcomeGate[];
  /**
   * One of `outcomes`, reported on its own in each verdict: the treatment's effect with its
   * confidence sequence, and the cost per outcome (e.g. per conversion) of both arms.
   */
  primaryOutcome?: string;
  /** A sample-ratio mismatch pauses the canary when its anytime p-value falls below this. */
  srmPValue: number;
  /** What a canary created before this engine had, kept for reference by the migration. */
  legacy?: LegacyAnalysis;
}

/**
 * An outcome metric a canary gates on: a built-in quality signal (`{ metric: 'empty_answer', margin:
 * { absolute: 0.005 } }`) or a defined metric, whose definition is kept with the gate as it was when
 * the canary was created (`definition`), so later edits of the metric do not change a running canary.
 */
export interface OutcomeGate {
  metric: string;
  margin: Margin;
  definition?: DefinedOutcome;
}

/** How long a stage waits past its duration for the attribution windows of its last exposures to close. */
export function outcomeWindowMs(analysis: Pick<CanaryAnalysis, 'outcomes'>): number {
  return Math.max(0, ...(analysis.outcomes ?? []).map((gate) => (gate.definition?.windowSeconds ?? 0) * 1000));
}

/** The most outcome metrics one canary may gate on (each takes a share of alpha). */
export const MAX_OUTCOME_GATES = 20;

/** The analysis of the engine before this one (fixed thresholds, z-test, Mann–Whitney). */
export interface LegacyAnalysis {
  minRequests?: number;
  maxErrorRate?: number;
  maxP99LatencyMs?: number;
  stageEnd?: { maxErrorRate?: number; maxAvgLatencyMs?: number };
  compareToControl?: boolean;
  maxCostPerRequestUsd?: number | null;
  maxCostRatioToControl?: number | null;
  failureThreshold?: number;
  severeFactor?: number;
  significance?: number;
}

// Frozen: shared by every canary; a caller changing it in place would change them all.
export const DEFAULT_CANARY_ANALYSIS: CanaryAnalysis = Object.freeze({
  alpha: 0.05,
  minRequests: 200,
  guardrails: Object.freeze({
    errorRate: Object.freeze({ absolute: 0.01 }),
    abandonmentRate: Object.freeze({ absolute: 0.01 }),
    invalidRequestRate: Object.freeze({ absolute: 0.01 }),
    latencyP50: Object.freeze({ relative: 0.2 }),
    latencyP95: Object.freeze({ relative: 0.2 }),
    latencyP99: Object.freeze({ relative: 0.2 }),
    ttftP50: Object.freeze({ relative: 0.2 }),
    ttftP95: Object.freeze({ relative: 0.2 }),
    costPerRequest: null,
  }) as Record<GuardrailKey, Margin | null>,
  hardGates: Object.freeze({ maxErrorRate: null, maxP99LatencyMs: null, maxCostPerRequestUsd: null }),
  outcomes: Object.freeze([]) as unknown as OutcomeGate[],
  srmPValue: 0.001,
});

/** The analysis's metrics, in a fixed order: guardrails, outcome metrics, then hard gates. */
export function judgedMetrics(analysis: CanaryAnalysis): JudgedMetric[] {
  const metrics: JudgedMetric[] = [];
  for (const key of GUARDRAIL_KEYS) {
    const margin = analysis.guardrails[key];
    if (margin) metrics.push({ definition: GUARDRAIL_METRICS[key], comparison: { margin } });
  }
  for (const { metric, margin, definition } of analysis.outcomes ?? []) {
    const judged = definition
      ? outcomeMetricDefinition(metric, definition)
      : QUALITY_METRICS[metric as QualityMetricKey];
    if (judged) metrics.push({ definition: judged, comparison: { margin } });
  }
  const { maxErrorRate, maxP99LatencyMs, maxCostPerRequestUsd } = analysis.hardGates;
  if (maxErrorRate !== null)
    metrics.push({ definition: GUARDRAIL_METRICS.errorRate, comparison: { limit: maxErrorRate } });
  if (maxP99LatencyMs !== null)
    metrics.push({ definition: GUARDRAIL_METRICS.latencyP99, comparison: { limit: maxP99LatencyMs } });
  if (maxCostPerRequestUsd !== null)
    metrics.push({ definition: GUARDRAIL_METRICS.costPerRequest, comparison: { limit: maxCostPerRequestUsd } });
  return metrics;
}

export function copyOf(analysis: CanaryAnalysis): CanaryAnalysis {
  return {
    ...analysis,
    guardrails: { ...analysis.guardrails },
    hardGates: { ...analysis.hardGates },
    outcomes: (analysis.outcomes ?? []).map((gate) => ({
      ...gate,
      ...(gate.definition ? { definition: { ...gate.definition } } : {}),
    })),
  };
}

/*
 * What a metric is, for the decision engine: per-request (or per-user) values of each arm, binary
 * or numeric, summarised per variance bucket; a direction; and, where it is judged against the
 * control, a margin. Guardrails are the built-in ones below; outcome metrics and quality signals
 * are more metrics of the same three kinds over more counters, judged by the same code.
 */

/** Counters every variance bucket of an arm carries (see ArmBucket). */
export const COUNTERS = [
  /** Requests the model is judged on: every row but invalid_request and rejected ones. */
  'requests',
  /** Of those, failed: 5xx, timeouts, broken streams, and answers a fallback model had to give. */
  'failures',
  /** Of those, abandoned: the client left before the first byte after waiting past the threshold. */
  'abandoned',
  /** Rows the invalid-request rate is over: requests plus invalid_request rows. */
  'judgedRows',
  'invalid',
  'costUsd',
  /** Rows with a latency to judge (outcome ok, answered by the assigned model). */
  'latencyRows',
  /** Streamed rows of those, which have a time to first token. */
  'ttftRows',
  /** Judged requests with a complete answer (outcome ok, whoever answered): the quality signals' denominator. */
  'answers',
  /** Of those, answers with each built-in quality signal (see QUALITY_METRICS). */
  'emptyAnswers',
  'truncatedAnswers',
  'invalidJsonAnswers',
  'schemaViolations',
  'malformedToolCalls',
  'refusals',
] as const;
export type Counter = (typeof COUNTERS)[number];

/**
 * Counters of a defined outcome metric (`outcome:<key>:n`, `outcome:<key>:sum`): its units with a
 * closed attribution window, and the sum of their values. Present only in the buckets of canaries
 * that gate on the metric; absent reads as 0.
 */
export type OutcomeCounter = `outcome:${string}`;
export type AnyCounter = Counter | OutcomeCounter;

/** The histograms of an arm's window; `ttfb` is the time to first byte (ttft if streamed, else latency). */
export const HISTOGRAMS = ['latency', 'ttft', 'ttfb'] as const;
export type HistogramName = (typeof HISTOGRAMS)[number];

export type Direction = 'lower_is_better' | 'higher_is_better';

interface MetricBase {
  key: string;
  /** As said in a sentence: "error rate", "p99 latency". */
  label: string;
  direction: Direction;
  /** The control-degradation check that, when it fires, turns this metric's harm into a hold. */
  degradation: DegradationKey | null;
}

/** A share of requests with a property, e.g. errors / requests. */
export interface RateMetric extends MetricBase {
  kind: 'rate';
  numerator: AnyCounter;
  denominator: AnyCounter;
}

/** A mean of a numeric per-request value, e.g. cost / requests. */
export interface MeanMetric extends MetricBase {
  kind: 'mean';
  numerator: AnyCounter;
  denominator: AnyCounter;
  /** For sentences: "$". */
  unit: string;
}

/** A quantile of a histogram, e.g. p99 latency. */
export interface QuantileMetric extends MetricBase {
  kind: 'quantile';
  histogram: 'latency' | 'ttft';
  q: number;
  /** The counter of the rows in the histogram (the denominator of "at most t"). */
  rows: Counter;
}

export type MetricDefinition = RateMetric | MeanMetric | QuantileMetric;

/** Checks of the control against its own recent past (see degradation.ts). */
export type DegradationKey = 'errorRate' | `latency:${number}` | `ttft:${number}` | `ttfb:${number}`;

export const GUARDRAIL_KEYS = [
  'errorRate',
  'abandonmentRate',
  'invalidRequestRate',
  'latencyP50',
  'latencyP95',
  'latencyP99',
  'ttftP50',
  'ttftP95',
  'costPerRequest',
] as const;
export type GuardrailKey = (typeof GUARDRAIL_KEYS)[number];

const quantile = (
  key: GuardrailKey,
  histogram: 'latency' | 'ttft',
  q: number,
  rows: Counter,
  label: string,
): QuantileMetric => ({
  key,
  kind: 'quantile',
  label,
  histogram,
  q,
  rows,
  direction: 'lower_is_better',
  degradation: `${histogram}:${q}`,
});

export const GUARDRAIL_METRICS: Readonly<Record<GuardrailKey, MetricDefinition>> = Object.freeze({
  errorRate: {
    key: 'errorRate',
    kind: 'rate',
    label: 'error rate',
    numerator: 'failures',
    denominator: 'requests',
    direction: 'lower_is_better',
    degradation: 'errorRate',
  },
  abandonmentRate: {
    key: 'abandonmentRate',
    kind: 'rate',
    label: 'abandonment rate',
    numerator: 'abandoned',
    denominator: 'requests',
    direction: 'lower_is_better',
    // Clients give up when first bytes are slow: a control slow to start is the same incident.
    degradation: 'ttfb:0.95',
  },
  invalidRequestRate: {
    key: 'invalidRequestRate',
    kind: 'rate',
    label: 'invalid-request rate',
    numerator: 'invalid',
    denominator: 'judgedRows',
    direction: 'lower_is_better',
    // A caller's bug sends bad requests to both arms alike; only a difference is the model's.
    degradation: null,
  },
  latencyP50: quantile('latencyP50', 'latency', 0.5, 'latencyRows', 'median latency'),
  latencyP95: quantile('latencyP95', 'latency', 0.95, 'latencyRows', 'p95 latency'),
  latencyP99: quantile('latencyP99', 'latency', 0.99, 'latencyRows', 'p99 latency'),
  ttftP50: quantile('ttftP50', 'ttft', 0.5, 'ttftRows', 'median time to first token'),
  ttftP95: quantile('ttftP95', 'ttft', 0.95, 'ttftRows', 'p95 time to first token'),
  costPerRequest: {
    key: 'costPerRequest',
    kind: 'mean',
    label: 'cost per request',
    numerator: 'costUsd',
    denominator: 'requests',
    direction: 'lower_is_better',
    unit: '$',
    degradation: null,
  },
});

/** The built-in answer-quality signals as canary metrics: request-unit binary, lower is better. */
export const QUALITY_METRIC_KEYS = [
  'empty_answer',
  'truncated',
  'invalid_json',
  'json_schema_violation',
  'malformed_tool_call',
  'refusal',
] as const;
export type QualityMetricKey = (typeof QUALITY_METRIC_KEYS)[number];

const qualityRate = (key: QualityMetricKey, numerator: Counter, label: string): RateMetric => ({
  key,
  kind: 'rate',
  label,
  numerator,
  denominator: 'answers',
  direction: 'lower_is_better',
  // What a model answers is the model's: a control answering worse is no excuse for the treatment.
  degradation: null,
});

/**
 * Each signal's rate over the arm's complete answers. A fallback's answer counts for the arm that
 * was assigned (intention to treat), like its failures.
 */
export const QUALITY_METRICS: Readonly<Record<QualityMetricKey, RateMetric>> = Object.freeze({
  empty_answer: qualityRate('empty_answer', 'emptyAnswers', 'empty-answer rate'),
  truncated: qualityRate('truncated', 'truncatedAnswers', 'truncated-answer rate'),
  invalid_json: qualityRate('invalid_json', 'invalidJsonAnswers', 'invalid-JSON rate'),
  json_schema_violation: qualityRate('json_schema_violation', 'schemaViolations', 'JSON-schema-violation rate'),
  malformed_tool_call: qualityRate('malformed_tool_call', 'malformedToolCalls', 'malformed-tool-call rate'),
  refusal: qualityRate('refusal', 'refusals', 'refusal rate'),
});

/** A defined outcome metric as a canary judges it (a snapshot of its definition, taken at creation). */
export interface DefinedOutcome {
  type: 'binary' | 'numeric';
  direction: Direction;
  unit: 'request' | 'user';
  windowSeconds: number;
}

/** The counters of a defined outcome metric's units and their values' sum. */
export function outcomeCounters(key: string): { n: OutcomeCounter; sum: OutcomeCounter } {
  return { n: `outcome:${key}:n`, sum: `outcome:${key}:sum` };
}

/**
 * A defined outcome metric as the engine judges it: a binary one is a rate (units that converted /
 * units), a numeric one a mean (Σ values / units); per request or per user, clustered like every metric.
 */
export function outcomeMetricDefinition(key: string, defined: DefinedOutcome): RateMetric | MeanMetric {
  const { n, sum } = outcomeCounters(key);
  const name = key.replace(/_/g, ' ');
  const base = { key, numerator: sum, denominator: n, direction: defined.direction, degradation: null };
  return defined.type === 'binary'
    ? { ...base, kind: 'rate', label: `${name} rate` }
    : { ...base, kind: 'mean', label: `mean ${name}`, unit: '' };
}

/** How much worse than the control a metric may be: in its own unit, or as a share of the control's value. */
export type Margin = { absolute: number } | { relative: number };

/** A metric as one canary judges it. */
export interface JudgedMetric {
  definition: MetricDefinition;
  /** Against the control with a margin, or against a fixed limit on the treatment alone (a hard gate). */
  comparison: { margin: Margin } | { limit: number };
}

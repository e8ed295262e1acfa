import {
  copyOf,
  DEFAULT_CANARY_ANALYSIS,
  MAX_OUTCOME_GATES,
  type CanaryAnalysis,
  type HardGates,
  type OutcomeGate,
} from './canary-analysis';
import { GUARDRAIL_KEYS, QUALITY_METRIC_KEYS, type DefinedOutcome, type GuardrailKey, type Margin } from './metrics';

export interface ResolvedCanaryAnalysis {
  /** The input over the defaults; only meaningful when problems is empty. */
  analysis: CanaryAnalysis;
  /** One sentence per bad field, each naming it by its path; empty when usable. */
  problems: string[];
}

/** What each setting of the engine before this one became, for the 400 a client still sending it gets. */
const REPLACED: Record<string, string> = {
  maxErrorRate:
    'judged against the control now: guardrails.errorRate ({ "absolute": 0.01 }); an absolute limit is hardGates.maxErrorRate',
  maxP99LatencyMs:
    'judged against the control now: guardrails.latencyP99 ({ "relative": 0.2 }); an absolute limit is hardGates.maxP99LatencyMs',
  stageEnd: 'a stage advances when its time is up and no guardrail shows harm; there are no separate stage-end gates',
  compareToControl: 'every guardrail is judged against the control; absolute limits are hardGates',
  maxCostPerRequestUsd: 'moved to hardGates.maxCostPerRequestUsd',
  maxCostRatioToControl: 'now guardrails.costPerRequest ({ "relative": 0.5 } for at most 1.5× the control)',
  failureThreshold: 'a confidence sequence stays valid at every look, so one look beyond the margin rolls back',
  severeFactor: 'a confidence sequence stays valid at every look, so one look beyond the margin rolls back',
  significance: "renamed alpha (the whole canary's false-rollback budget)",
};

type Check = (value: unknown) => string | null;

const number =
  (low: number, high: number, lowOpen: boolean, expected: string): Check =>
  (value) =>
    typeof value === 'number' && Number.isFinite(value) && (lowOpen ? value > low : value >= low) && value <= high
      ? null
      : `must be ${expected}, got ${show(value)}`;

const MARGIN_RANGES: Record<'rate' | 'ms' | 'usd', { absolute: Check; relative: Check }> = {
  rate: { absolute: number(0, 1, true, 'a rate above 0 and at most 1'), relative: number(0, 100, true, 'above 0') },
  ms: { absolute: number(0, 3_600_000, true, 'a number of ms above 0'), relative: number(0, 100, true, 'above 0') },
  usd: { absolute: number(0, 1_000, true, 'a number of dollars above 0'), relative: number(0, 100, true, 'above 0') },
};
/** A numeric outcome's margin is in its own unit (a rating's points, revenue's dollars). */
const NUMERIC_MARGIN = {
  absolute: number(0, 1e9, true, "a number above 0 in the metric's own unit"),
  relative: number(0, 100, true, 'above 0'),
};
const UNIT_OF: Record<GuardrailKey, 'rate' | 'ms' | 'usd'> = {
  errorRate: 'rate',
  abandonmentRate: 'rate',
  invalidRequestRate: 'rate',
  latencyP50: 'ms',
  latencyP95: 'ms',
  latencyP99: 'ms',
  ttftP50: 'ms',
  ttftP95: 'ms',
  costPerRequest: 'usd',
};

const TOP_LEVEL: Record<'alpha' | 'minRequests' | 'srmPValue', Check> = {
  // Above 0.5 a one-sided test would call a treatment that looks better "worse".
  alpha: number(0, 0.5, true, 'a number above 0 and at most 0.5'),
  minRequests: (value) =>
    Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 10_000_000
      ? null
      : `must be an integer from 1 to 10000000, got ${show(value)}`,
  srmPValue: number(0, 0.05, true, 'a number above 0 and at most 0.05'),
};
const HARD_GATES: Record<keyof HardGates, Check> = {
  maxErrorRate: number(0, 1, true, 'a rate above 0 and at most 1, or null for off'),
  maxP99LatencyMs: number(0, 3_600_000, true, 'a number of ms above 0, or null for off'),
  maxCostPerRequestUsd: number(0, 1_000, true, 'a number of dollars above 0, or null for off'),
};

/*
 * Merges an operator's partial analysis over the defaults and lists every problem at once, each
 * naming its field by path, so that the API answers one 400 saying all there is to fix. Unknown
 * fields are problems (a typo would otherwise leave a default in force); settings of the previous
 * engine say what replaced them. Checked at run time whatever the static type: it comes from JSON.
 */
export function resolveCanaryAnalysis(
  input: unknown,
  definedOutcome: (key: string) => DefinedOutcome | undefined = () => undefined,
): ResolvedCanaryAnalysis {
  const analysis = copyOf(DEFAULT_CANARY_ANALYSIS);
  const problems: string[] = [];
  if (input === undefined || input === null) return { analysis, problems };
  if (!isPlainObject(input)) return { analysis, problems: [`analysis must be an object, got ${show(input)}`] };
  for (const [key, value] of Object.entries(input)) {
    if (key === 'guardrails') resolveGuardrails(value, analysis, problems);
    else if (key === 'outcomes') resolveOutcomes(value, analysis, problems, definedOutcome);
    else if (key === 'primaryOutcome') {
      if (typeof value === 'string') analysis.primaryOutcome = value;
      else problems.push(`analysis.primaryOutcome must be the key of one of analysis.outcomes, got ${show(value)}`);
    } else if (key === 'hardGates') resolveHardGates(value, analysis, problems);
    else if (Object.hasOwn(TOP_LEVEL, key)) {
      const problem = TOP_LEVEL[key as keyof typeof TOP_LEVEL](value);
      if (problem) problems.push(`analysis.${key} ${problem}`);
      else (analysis as unknown as Record<string, unknown>)[key] = value;
    } else if (Object.hasOwn(REPLACED, key)) {
      problems.push(`analysis.${key} is no longer a setting: ${REPLACED[key]}`);
    } else problems.push(`analysis.${key} is not a canary analysis setting`);
  }
  const primary = analysis.primaryOutcome;
  if (primary !== undefined && !(analysis.outcomes ?? []).some((gate) => gate.metric === primary))
    problems.push(
      `analysis.primaryOutcome "${primary}" must be one of analysis.outcomes (${(analysis.outcomes ?? []).map((gate) => gate.metric).join(', ') || 'none listed'})`,
    );
  return { analysis, problems };
}

function resolveGuardrails(value: unknown, analysis: CanaryAnalysis, problems: string[]): void {
  if (!isPlainObject(value)) {
    problems.push(`analysis.guardrails must be an object of guardrail: margin, got ${show(value)}`);
    return;
  }
  for (const [key, margin] of Object.entries(value)) {
    const path = `analysis.guardrails.${key}`;
    if (!(GUARDRAIL_KEYS as readonly string[]).includes(key)) {
      problems.push(`${path} is not a guardrail (guardrails: ${GUARDRAIL_KEYS.join(', ')})`);
      continue;
    }
    const guardrail = key as GuardrailKey;
    if (margin === null) {
      analysis.guardrails[guardrail] = null;
      continue;
    }
    const fields = isPlainObject(margin) ? Object.keys(margin) : [];
    if (fields.length !== 1 || !['absolute', 'relative'].includes(fields[0])) {
      problems.push(
        `${path} must be { "absolute": number } or { "relative": number } (how much worse than the control it may be), or null for off; got ${show(margin)}`,
      );
      continue;
    }
    const type = fields[0] as 'absolute' | 'relative';
    const amount = (margin as Record<string, unknown>)[type];
    const problem = MARGIN_RANGES[UNIT_OF[guardrail]][type](amount);
    if (problem) problems.push(`${path}.${type} ${problem}`);
    else analysis.guardrails[guardrail] = (type === 'absolute' ? { absolute: amount } : { relative: amount }) as Margin;
  }
}

function resolveOutcomes(
  value: unknown,
  analysis: CanaryAnalysis,
  problems: string[],
  definedOutcome: (key: string) => DefinedOutcome | undefined,
): void {
  const shape = '[{ "metric": "empty_answer", "margin": { "absolute": 0.005 } }]';
  if (!Array.isArray(value)) {
    problems.push(`analysis.outcomes must be a list such as ${shape}, got ${show(value)}`);
    return;
  }
  if (value.length > MAX_OUTCOME_GATES) {
    problems.push(`analysis.outcomes may list at most ${MAX_OUTCOME_GATES} metrics, got ${value.length}`);
    return;
  }
  const outcomes: OutcomeGate[] = [];
  value.forEach((gate: unknown, index) => {
    const path = `analysis.outcomes[${index}]`;
    if (!isPlainObject(gate)) {
      problems.push(`${path} must be { "metric": ..., "margin": ... }, got ${show(gate)}`);
      return;
    }
    for (const field of Object.keys(gate)) {
      if (field !== 'metric' && field !== 'margin') problems.push(`${path}.${field} is not a field (metric, margin)`);
    }
    const { metric, margin } = gate;
    const builtIn = (QUALITY_METRIC_KEYS as readonly unknown[]).includes(metric);
    const defined = !builtIn && typeof metric === 'string' ? definedOutcome(metric) : undefined;
    if (!builtIn && !defined) {
      problems.push(
        `${path}.metric must be an outcome metric (a defined one, GET /api/outcome-metrics, or a built-in: ${QUALITY_METRIC_KEYS.join(', ')}), got ${show(metric)}`,
      );
      return;
    }
    if (outcomes.some((other) => other.metric === metric)) {
      problems.push(`${path}.metric: ${show(metric)} is listed twice`);
      return;
    }
    const fields = isPlainObject(margin) ? Object.keys(margin) : [];
    if (fields.length !== 1 || !['absolute', 'relative'].includes(fields[0])) {
      problems.push(
        `${path}.margin must be { "absolute": number } (a rate's share: 0.005 = 0.5 percentage points) or { "relative": number } (a share of the control's rate); got ${show(margin)}`,
      );
      return;
    }
    const type = fields[0] as 'absolute' | 'relative';
    const amount = (margin as Record<string, unknown>)[type];
    const ranges = defined?.type === 'numeric' ? NUMERIC_MARGIN : MARGIN_RANGES.rate;
    const problem = ranges[type](amount);
    if (problem) {
      problems.push(`${path}.margin.${type} ${problem}`);
      return;
    }
    const parsed = (type === 'absolute' ? { absolute: amount } : { relative: amount }) as Margin;
    outcomes.push(
      defined
        ? { metric: metric as string, margin: parsed, definition: { ...defined } }
        : { metric: metric as string, margin: parsed },
    );
  });
  analysis.outcomes = outcomes;
}

function resolveHardGates(value: unknown, analysis: CanaryAnalysis, problems: string[]): void {
  if (!isPlainObject(value)) {
    problems.push(`analysis.hardGates must be an object, got ${show(value)}`);
    return;
  }
  for (const [key, limit] of Object.entries(value)) {
    const path = `analysis.hardGates.${key}`;
    if (!Object.hasOwn(HARD_GATES, key)) {
      problems.push(`${path} is not a hard gate (hard gates: ${Object.keys(HARD_GATES).join(', ')})`);
      continue;
    }
    const problem = limit === null ? null : HARD_GATES[key as keyof HardGates](limit);
    if (problem) problems.push(`${path} ${problem}`);
    else analysis.hardGates[key as keyof HardGates] = limit as number | null;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value as sent, cut to its start: a 4 MB string must not come back whole in the 400. */
function show(value: unknown): string {
  if (typeof value === 'number') return String(value); // JSON.stringify would turn NaN into "null"
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

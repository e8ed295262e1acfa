/** Gates checked once more before a stage may advance, stricter than the ones during the stage. */
export interface StageEndGates {
  /** The treatment's failure rate must be below this (0..1]. */
  maxErrorRate: number;
  /** The treatment's mean latency must be below this. */
  maxAvgLatencyMs: number;
}

/** How a canary judges a window of treatment and control metrics (see judgeWindow). */
export interface CanaryAnalysis {
  /** Requests each arm needs in the window before anything is judged. */
  minRequests: number;
  /** During a stage, a treatment failure rate above this fails (0..1). */
  maxErrorRate: number;
  /** During a stage, a treatment p99 latency above this fails. */
  maxP99LatencyMs: number;
  stageEnd: StageEndGates;
  /** Fail an exceeded error or latency gate only when the treatment is also significantly worse
   *  than the control; otherwise hold (the provider, not the treatment, is having a bad day). */
  compareToControl: boolean;
  /** Treatment cost per request above this fails; null turns the gate off. */
  maxCostPerRequestUsd: number | null;
  /** Treatment cost per request above this multiple of the control's fails; null turns it off. */
  maxCostRatioToControl: number | null;
  /** Failed windows in a row before the executor rolls back (judgeWindow does not use it). */
  failureThreshold: number;
  /** A gate exceeded by this factor (error rate > factor × max, …) is severe: roll back at once. */
  severeFactor: number;
  /** One-sided alpha of the comparisons with the control. */
  significance: number;
}

/** A canary's analysis as an operator may send or store it: any field may be left out. */
export type CanaryAnalysisInput = Partial<Omit<CanaryAnalysis, 'stageEnd'>> & { stageEnd?: Partial<StageEndGates> };

// Frozen: it is shared by every canary, and a caller changing it in place would change them all.
export const DEFAULT_CANARY_ANALYSIS: CanaryAnalysis = Object.freeze({
  minRequests: 200,
  maxErrorRate: 0.02,
  maxP99LatencyMs: 2000,
  stageEnd: Object.freeze({ maxErrorRate: 0.01, maxAvgLatencyMs: 500 }),
  compareToControl: true,
  maxCostPerRequestUsd: null,
  maxCostRatioToControl: null,
  failureThreshold: 2,
  severeFactor: 2,
  significance: 0.05,
});

export interface ResolvedCanaryAnalysis {
  /** The input over the defaults; only meaningful when problems is empty. */
  analysis: CanaryAnalysis;
  /** One human-readable sentence per bad field; empty when the analysis is usable. */
  problems: string[];
}

type Rule = { test: (value: unknown) => boolean; expected: string };

const integerAtLeastOne: Rule = { test: (v) => Number.isInteger(v) && (v as number) >= 1, expected: 'an integer >= 1' };
const rate: Rule = { test: (v) => isFiniteNumber(v) && v >= 0 && v <= 1, expected: 'a number between 0 and 1' };
// The stage-end gates require a value strictly below the limit, so a limit of 0 could never pass.
const positiveRate: Rule = { test: (v) => isFiniteNumber(v) && v > 0 && v <= 1, expected: 'a number > 0 and <= 1' };
const positive: Rule = { test: (v) => isFiniteNumber(v) && v > 0, expected: 'a number > 0' };
const boolean: Rule = { test: (v) => typeof v === 'boolean', expected: 'true or false' };
const orNull = (rule: Rule): Rule => ({
  test: (v) => v === null || rule.test(v),
  expected: `${rule.expected}, or null for off`,
});

const RULES: Record<Exclude<keyof CanaryAnalysis, 'stageEnd'>, Rule> = {
  minRequests: integerAtLeastOne,
  maxErrorRate: rate,
  maxP99LatencyMs: positive,
  compareToControl: boolean,
  maxCostPerRequestUsd: orNull({ test: (v) => isFiniteNumber(v) && v >= 0, expected: 'a number >= 0' }),
  maxCostRatioToControl: orNull(positive),
  failureThreshold: integerAtLeastOne,
  // Below 1, a gate would be "severe" before it even failed.
  severeFactor: { test: (v) => isFiniteNumber(v) && v >= 1, expected: 'a number >= 1' },
  // A one-sided alpha above 0.5 would call a treatment that looks better than the control "worse".
  significance: { test: (v) => isFiniteNumber(v) && v > 0 && v <= 0.5, expected: 'a number > 0 and <= 0.5' },
};
const STAGE_END_RULES: Record<keyof StageEndGates, Rule> = {
  maxErrorRate: positiveRate,
  maxAvgLatencyMs: positive,
};

/*
 * Merges an operator's partial analysis over DEFAULT_CANARY_ANALYSIS and lists what is wrong with
 * it, one sentence per field, so that the API can answer 400 with all of them at once instead of
 * storing a canary that can never pass (or never fail). Unknown fields are problems too: a typo
 * such as "maxErorRate" would otherwise silently leave the default in force. The input is checked
 * at run time, whatever its static type, since it comes from JSON.
 */
export function resolveCanaryAnalysis(input: CanaryAnalysisInput | null | undefined): ResolvedCanaryAnalysis {
  const problems: string[] = [];
  if (input === null || input === undefined) return { analysis: copyOf(DEFAULT_CANARY_ANALYSIS), problems };
  if (!isPlainObject(input)) {
    return { analysis: copyOf(DEFAULT_CANARY_ANALYSIS), problems: [`analysis must be an object, got ${show(input)}`] };
  }
  const stageEndInput: unknown = input.stageEnd;
  const stageEndIsObject = stageEndInput === undefined || isPlainObject(stageEndInput);
  if (!stageEndIsObject) problems.push(`stageEnd must be an object, got ${show(stageEndInput)}`);
  const stageEnd = stageEndIsObject && stageEndInput !== undefined ? (stageEndInput as Record<string, unknown>) : {};

  const analysis = copyOf(DEFAULT_CANARY_ANALYSIS);
  merge(input as Record<string, unknown>, RULES, analysis as unknown as Record<string, unknown>, '', problems, [
    'stageEnd',
  ]);
  merge(stageEnd, STAGE_END_RULES, analysis.stageEnd as unknown as Record<string, unknown>, 'stageEnd.', problems, []);
  return { analysis, problems };
}

function merge(
  input: Record<string, unknown>,
  rules: Record<string, Rule>,
  target: Record<string, unknown>,
  prefix: string,
  problems: string[],
  otherKnownKeys: string[],
): void {
  for (const [key, value] of Object.entries(input)) {
    const rule = Object.hasOwn(rules, key) ? rules[key] : undefined;
    if (!rule) {
      if (!otherKnownKeys.includes(key)) problems.push(`${prefix}${key} is not a canary analysis setting`);
      continue;
    }
    if (value === undefined) continue;
    if (rule.test(value)) target[key] = value;
    else problems.push(`${prefix}${key} must be ${rule.expected}, got ${show(value)}`);
  }
}

function copyOf(analysis: CanaryAnalysis): CanaryAnalysis {
  return { ...analysis, stageEnd: { ...analysis.stageEnd } };
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (typeof value === 'number') return String(value); // JSON.stringify would turn NaN into "null"
  return JSON.stringify(value) ?? String(value);
}

import type { SeededRandom } from './seeded-random';

/** Response latency, sampled from a log-normal distribution fitted to these two percentiles. */
export interface LatencyProfile {
  median: number;
  p99: number;
}

/** How one simulated model behaves. Every field can be changed at runtime through the admin API. */
export interface ModelProfile {
  /** median 0 means no delay at all (no timer), which is what benchmarks want. */
  latencyMs: LatencyProfile;
  /** Share of calls (0..1) answered with `errorStatus` and an OpenAI error body. */
  errorRate: number;
  /** 500-599. */
  errorStatus: number;
  /** Share of calls (0..1) answered 429 with a Retry-After header. */
  rateLimitRate: number;
  retryAfterSeconds: number;
  /** Stream pacing; 0 sends every chunk at once. */
  tokensPerSecond: number;
  /** Share of streams (0..1) whose socket is destroyed right after the first content chunk. */
  streamFailureRate: number;
  /** Word tokens in a reply, before `max_tokens` / `max_completion_tokens` caps it. */
  completionTokens: number;
  /** Share of answers (0..1) that are 200 with no content at all (`content: ""`, no tool call). */
  emptyAnswerRate: number;
  /** Share of answers (0..1) that refuse: `content: null` and a `refusal` message. */
  refusalRate: number;
  /**
   * Share of answers (0..1) to requests asking for JSON (`response_format` json_object / json_schema)
   * whose JSON is cut off; the others are the valid object `{"reply": "<words>"}`.
   */
  invalidJsonRate: number;
  /**
   * Share of answers (0..1) to requests offering function tools with `tool_choice` auto (or unset)
   * that call a tool. `tool_choice` "required" or a named function always calls; "none" never does.
   */
  toolCallRate: number;
  /** Share of tool calls (0..1) whose `arguments` are cut off, so they are not valid JSON. */
  malformedToolCallRate: number;
  /**
   * Share of streams (0..1) whose first event is a chunk cut off half-way (its data not JSON), the
   * whole stream after it: what a proxy that splits events, or a provider's bug, sends.
   */
  malformedFirstEventRate: number;
  /** Share of streams (0..1) with such a cut-off chunk right after the first content chunk, the rest whole after it. */
  malformedEventRate: number;
}

/** A partial profile, as accepted in options and by `PUT /_simulator/profiles/:model`. */
export type ModelProfilePatch = Partial<Omit<ModelProfile, 'latencyMs'>> & { latencyMs?: Partial<LatencyProfile> };

/** Keeps every sampled delay well inside what setTimeout accepts (it fires at once above 2^31-1 ms). */
export const MAX_LATENCY_MS = 600_000;
const MAX_COMPLETION_TOKENS = 100_000;
const MAX_RETRY_AFTER_SECONDS = 86_400;

/** z-score of the 99th percentile of a standard normal distribution. */
const P99_Z = 2.3263;

export function defaultModelProfile(): ModelProfile {
  return {
    latencyMs: { median: 0, p99: 0 },
    errorRate: 0,
    errorStatus: 500,
    rateLimitRate: 0,
    retryAfterSeconds: 1,
    tokensPerSecond: 0,
    streamFailureRate: 0,
    completionTokens: 16,
    emptyAnswerRate: 0,
    refusalRate: 0,
    invalidJsonRate: 0,
    toolCallRate: 0,
    malformedToolCallRate: 0,
    malformedFirstEventRate: 0,
    malformedEventRate: 0,
  };
}

export function copyProfile(profile: ModelProfile): ModelProfile {
  return { ...profile, latencyMs: { ...profile.latencyMs } };
}

/** A profile patch that failed validation. `problems` names each bad field, one message per field. */
export class InvalidProfileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'InvalidProfileError';
  }
}

type ScalarField = Exclude<keyof ModelProfile, 'latencyMs'>;

interface FieldRule {
  accepts(value: unknown): boolean;
  message: string;
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isIntegerIn = (min: number, max: number) => (value: unknown) =>
  Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
const rateRule = (field: ScalarField): FieldRule => ({
  accepts: (value) => isNumber(value) && value >= 0 && value <= 1,
  message: `${field} must be a number between 0 and 1`,
});

const SCALAR_RULES: Record<ScalarField, FieldRule> = {
  errorRate: rateRule('errorRate'),
  errorStatus: { accepts: isIntegerIn(500, 599), message: 'errorStatus must be an integer between 500 and 599' },
  rateLimitRate: rateRule('rateLimitRate'),
  retryAfterSeconds: {
    accepts: isIntegerIn(0, MAX_RETRY_AFTER_SECONDS),
    message: `retryAfterSeconds must be an integer between 0 and ${MAX_RETRY_AFTER_SECONDS}`,
  },
  tokensPerSecond: {
    accepts: (value) => isNumber(value) && value >= 0,
    message: 'tokensPerSecond must be a number >= 0 (0 = as fast as possible)',
  },
  streamFailureRate: rateRule('streamFailureRate'),
  completionTokens: {
    accepts: isIntegerIn(1, MAX_COMPLETION_TOKENS),
    message: `completionTokens must be an integer between 1 and ${MAX_COMPLETION_TOKENS}`,
  },
  emptyAnswerRate: rateRule('emptyAnswerRate'),
  refusalRate: rateRule('refusalRate'),
  invalidJsonRate: rateRule('invalidJsonRate'),
  toolCallRate: rateRule('toolCallRate'),
  malformedToolCallRate: rateRule('malformedToolCallRate'),
  malformedFirstEventRate: rateRule('malformedFirstEventRate'),
  malformedEventRate: rateRule('malformedEventRate'),
};

const LATENCY_FIELDS = ['median', 'p99'] as const;
const PROFILE_FIELDS = ['latencyMs', ...Object.keys(SCALAR_RULES)];

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Returns `base` with `patch` merged in (latencyMs merged field by field), or throws an
 * InvalidProfileError listing every bad field. `patch` is untrusted JSON, hence `unknown`.
 */
export function applyProfilePatch(base: ModelProfile, patch: unknown): ModelProfile {
  if (patch === undefined) return copyProfile(base);
  if (!isPlainObject(patch)) throw new InvalidProfileError(['profile must be an object']);

  const problems: string[] = [];
  const merged = copyProfile(base);
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (field === 'latencyMs') {
      mergeLatency(merged.latencyMs, value, problems);
    } else if (field in SCALAR_RULES) {
      const rule = SCALAR_RULES[field as ScalarField];
      if (rule.accepts(value)) merged[field as ScalarField] = value as number;
      else problems.push(rule.message);
    } else {
      problems.push(`${field} is not a profile field (expected one of: ${PROFILE_FIELDS.join(', ')})`);
    }
  }
  // Only meaningful once both percentiles are known to be valid numbers.
  if (problems.length === 0 && merged.latencyMs.p99 < merged.latencyMs.median) {
    problems.push('latencyMs.p99 must be >= latencyMs.median');
  }
  if (problems.length > 0) throw new InvalidProfileError(problems);
  return merged;
}

function mergeLatency(target: LatencyProfile, value: unknown, problems: string[]): void {
  if (!isPlainObject(value)) {
    problems.push('latencyMs must be an object such as { "median": 200, "p99": 1500 }');
    return;
  }
  for (const [field, ms] of Object.entries(value)) {
    if (ms === undefined) continue;
    if (!(LATENCY_FIELDS as readonly string[]).includes(field)) {
      problems.push(`latencyMs.${field} is not a latency field (expected median, p99)`);
    } else if (isNumber(ms) && ms >= 0 && ms <= MAX_LATENCY_MS) {
      target[field as keyof LatencyProfile] = ms;
    } else {
      problems.push(`latencyMs.${field} must be a number of milliseconds between 0 and ${MAX_LATENCY_MS}`);
    }
  }
}

/** What the simulator does with one call, decided before any byte of the answer is written. */
export type SimulatedOutcome =
  { kind: 'rate_limited' } | { kind: 'server_error' } | { kind: 'success'; latencyMs: number; streamFails: boolean };

/**
 * Draws the outcome of one call from the model's RNG. It always takes the same number of draws,
 * whatever the profile, so changing one rate at runtime leaves the other decisions' sequences intact.
 */
export function drawOutcome(profile: ModelProfile, rng: SeededRandom): SimulatedOutcome {
  const rateLimitDraw = rng.next();
  const errorDraw = rng.next();
  const z = rng.nextStandardNormal();
  const streamFailureDraw = rng.next();

  if (rateLimitDraw < profile.rateLimitRate) return { kind: 'rate_limited' };
  if (errorDraw < profile.errorRate) return { kind: 'server_error' };
  return {
    kind: 'success',
    latencyMs: sampleLatencyMs(profile.latencyMs, z),
    streamFails: streamFailureDraw < profile.streamFailureRate,
  };
}

/** Log-normal: mu = ln(median), sigma = (ln(p99) - ln(median)) / z99, evaluated at standard normal `z`. */
export function sampleLatencyMs(latency: LatencyProfile, z: number): number {
  if (latency.median <= 0) return 0;
  const mu = Math.log(latency.median);
  const sigma = (Math.log(latency.p99) - mu) / P99_Z;
  return Math.min(Math.exp(mu + sigma * z), MAX_LATENCY_MS);
}

/**
 * What a successful answer is: the usual words, nothing, a refusal, cut-off JSON, or a tool call
 * (with arguments that are valid JSON, or cut off).
 */
export type AnswerShape = 'normal' | 'empty' | 'refusal' | 'invalid_json' | 'tool_call' | 'malformed_tool_call';

/**
 * What the request lets the model do with tools: nothing (no function tools, or `tool_choice`
 * "none"), call one at the profile's toolCallRate (`tool_choice` auto), or call one for sure
 * (`tool_choice` "required" or a named function).
 */
export type ToolMode = 'none' | 'auto' | 'forced';

/**
 * Draws the shape of one successful answer. The content draws come from the model's second RNG
 * (its own stream, so the outcome sequence of drawOutcome stays what it was for a seed): always
 * three. The tool-call draws come from a third stream, always two, so that a seed's sequence of
 * empty, refused and broken-JSON answers is the same whether or not requests carry tools. An empty
 * answer or a refusal wins over a tool call; a tool call wins over broken JSON (it has no content).
 */
export function drawAnswerShape(
  profile: ModelProfile,
  rng: SeededRandom,
  toolRng: SeededRandom,
  tools: ToolMode = 'none',
): AnswerShape {
  const emptyDraw = rng.next();
  const refusalDraw = rng.next();
  const invalidJsonDraw = rng.next();
  const toolCallDraw = toolRng.next();
  const malformedDraw = toolRng.next();
  if (emptyDraw < profile.emptyAnswerRate) return 'empty';
  if (refusalDraw < profile.refusalRate) return 'refusal';
  if (tools === 'forced' || (tools === 'auto' && toolCallDraw < profile.toolCallRate)) {
    return malformedDraw < profile.malformedToolCallRate ? 'malformed_tool_call' : 'tool_call';
  }
  if (invalidJsonDraw < profile.invalidJsonRate) return 'invalid_json';
  return 'normal';
}

/** Where a stream carries a chunk cut off half-way: nowhere, as its first event, or right after its first content chunk. */
export type MalformedEventAt = 'none' | 'first' | 'after_first_chunk';

/**
 * Draws where a stream's malformed event goes, from the model's fourth RNG (its own stream, so the
 * sequences of drawOutcome and drawAnswerShape stay what they were for a seed): always two draws.
 * A malformed first event wins over a later one.
 */
export function drawMalformedEvent(profile: ModelProfile, rng: SeededRandom): MalformedEventAt {
  const firstDraw = rng.next();
  const afterFirstChunkDraw = rng.next();
  if (firstDraw < profile.malformedFirstEventRate) return 'first';
  if (afterFirstChunkDraw < profile.malformedEventRate) return 'after_first_chunk';
  return 'none';
}

/**
 * The built-in answer-quality signals the gateway computes for every answered request (see
 * gateway/answer-quality.ts) and stores on its metric row as one bitmask, `quality_signals`
 * (null when there was no complete answer to judge). Canaries judge each as a request-unit binary
 * metric: its rate over answered requests.
 */
export const QUALITY_SIGNALS = [
  /** No content, no tool call and no refusal: a 200 that says nothing. */
  'empty_answer',
  /** `finish_reason: "length"`: the answer was cut at the token limit. */
  'truncated',
  /** The request asked for JSON (`response_format` json_object / json_schema) and the content is not JSON. */
  'invalid_json',
  /** The request gave a `json_schema` and the content's JSON does not fit it. */
  'json_schema_violation',
  /** A tool call whose `arguments` are not valid JSON. */
  'malformed_tool_call',
  /** The model refused (OpenAI's `refusal` field). */
  'refusal',
] as const;
export type QualitySignal = (typeof QUALITY_SIGNALS)[number];

/** The bit of each signal in `quality_signals`. */
export const QUALITY_BIT: Readonly<Record<QualitySignal, number>> = Object.freeze({
  empty_answer: 1,
  truncated: 2,
  invalid_json: 4,
  json_schema_violation: 8,
  malformed_tool_call: 16,
  refusal: 32,
});

/** The signals set in a mask, in QUALITY_SIGNALS order. */
export function qualitySignalsOf(mask: number | null): QualitySignal[] {
  if (mask === null) return [];
  return QUALITY_SIGNALS.filter((signal) => (mask & QUALITY_BIT[signal]) !== 0);
}

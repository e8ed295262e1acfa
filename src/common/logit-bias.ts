import { describe } from './excerpt';

/**
 * OpenAI documents no bound on logit_bias's entries. Real uses bias a handful of tokens (ban a word,
 * favour a classifier's labels); a bound far above that refuses what can only be a mistake or an
 * attack before every attempt, fallbacks included, carries it upstream. It is the gateway's own
 * bound, and its message says so.
 */
export const MAX_LOGIT_BIAS_ENTRIES = 1024;

/** A token id as OpenAI's logit_bias keys one: its decimal digits. */
const TOKEN_ID = /^[0-9]+$/;

/**
 * What is wrong with logit_bias's keys, or undefined: more than MAX_LOGIT_BIAS_ENTRIES of them, or the
 * first that is no token id (`key`; the provider would refuse it). One rule for a caller's body
 * (gateway/chat-request.ts) and a flag variant's params (flags/variant-validation.ts), which ride on
 * every request the variant serves. `says` follows the field's path (or `key`'s), as each caller
 * writes it; the biases' range is each caller's own check.
 */
export function logitBiasKeysProblem(biases: object): { key?: string; says: string } | undefined {
  const keys = Object.keys(biases);
  if (keys.length > MAX_LOGIT_BIAS_ENTRIES)
    return {
      says: `may have at most ${MAX_LOGIT_BIAS_ENTRIES} entries (the gateway's bound; OpenAI documents none); got ${keys.length}`,
    };
  const key = keys.find((candidate) => !TOKEN_ID.test(candidate));
  return key === undefined
    ? undefined
    : { key, says: `a logit_bias key must be a token id, in decimal digits such as "50256"; got ${describe(key)}` };
}

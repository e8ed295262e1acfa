import type { CatalogModel } from '../config/catalog.schema';
import { costPico } from '../metrics/cost';

/**
 * The most a request can cost on `model`, in picodollars: the prompt's upper bound (the context
 * guard's: at most one token per byte) plus, for each of its `n` choices, `max_completion_tokens` /
 * `max_tokens` or else the model's output cap (`maxOutputTokens`, else its context window), at the
 * catalog's prices. A provider bills no more than this for an answer it finished.
 */
export function worstCasePico(model: CatalogModel, body: Record<string, unknown>, promptTokens: number): bigint {
  const choices = positiveInteger(body.n) ?? 1;
  const asked = positiveInteger(body.max_completion_tokens) ?? positiveInteger(body.max_tokens);
  const cap = model.maxOutputTokens ?? model.contextWindow;
  const perChoice = asked === undefined ? cap : Math.min(asked, cap);
  return costPico(model.pricing, { promptTokens, completionTokens: perChoice * choices });
}

function positiveInteger(value: unknown): number | undefined {
  return Number.isInteger(value) && (value as number) > 0 ? (value as number) : undefined;
}

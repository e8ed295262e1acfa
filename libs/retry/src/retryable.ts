/*
 * Whether an upstream HTTP status is worth another attempt, as OpenAI's own clients judge it: 408
 * (the provider's request timeout), 409 (its lock timeout), 429 (rate limited) and every 5xx (500,
 * 502, 503, 504, and the rarer ones — a provider's gateway may answer 520–529). No other 4xx: a 400
 * fails the same way every time, and a 401 is the caller's business (it retries once with the backup
 * key, which is not a backoff retry).
 */
const RETRYABLE_4XX = new Set([408, 409, 429]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_4XX.has(status) || (Number.isInteger(status) && status >= 500 && status <= 599);
}

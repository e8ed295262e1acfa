export interface BackoffPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

/*
 * AWS "full jitter" (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/):
 * a uniformly random wait in [0, min(maxDelayMs, baseDelayMs · 2^attempt)). Spreading the retries
 * of many clients over the whole interval stops them from hitting a recovering provider in waves.
 * `attempt` is 0 for the first retry.
 */
export function fullJitterDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  if (!(Number.isInteger(attempt) && attempt >= 0))
    throw new RangeError(`attempt must be an integer >= 0, got ${attempt}`);
  assertPolicy(policy);
  // 2^1024 is Infinity and 0 · Infinity is NaN: past the cap the exponent no longer matters anyway.
  const exponential = policy.baseDelayMs * 2 ** Math.min(attempt, 1000);
  return random() * Math.min(policy.maxDelayMs, exponential);
}

/*
 * The wait before the next attempt, or undefined when there is no time left for one.
 *
 * - A Retry-After from the upstream (`retryAfterMs`, see parseRetryAfterMs) is the server's
 *   instruction and is used exactly, even above maxDelayMs: retrying earlier only earns another 429.
 * - Otherwise full jitter.
 * - If the wait would use up the request's remaining time (delay >= remainingMs), the caller should
 *   stop retrying and surface the error — with the upstream's Retry-After — instead of sleeping
 *   into its own deadline.
 */
export function retryDelayMs(input: {
  attempt: number;
  policy: BackoffPolicy;
  retryAfterMs?: number;
  remainingMs: number;
  random?: () => number;
}): number | undefined {
  const { attempt, policy, retryAfterMs, remainingMs, random } = input;
  const delay =
    retryAfterMs !== undefined && !Number.isNaN(retryAfterMs)
      ? Math.max(0, retryAfterMs)
      : fullJitterDelayMs(attempt, policy, random);
  return delay >= remainingMs ? undefined : delay;
}

function assertPolicy(policy: BackoffPolicy): void {
  const { baseDelayMs, maxDelayMs } = policy;
  if (!(Number.isFinite(baseDelayMs) && baseDelayMs >= 0)) {
    throw new RangeError(`baseDelayMs must be >= 0, got ${baseDelayMs}`);
  }
  if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= 0)) {
    throw new RangeError(`maxDelayMs must be >= 0, got ${maxDelayMs}`);
  }
}

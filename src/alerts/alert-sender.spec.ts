import { nextAttemptDelayMs } from './alert-sender';

describe('nextAttemptDelayMs (the shared @switchyard/retry backoff, per alert attempt)', () => {
  const policy = { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 8 };
  const fixed = (value: number) => () => value;

  it('draws from [0, base·2^(attempt-1)): full jitter, the ceiling doubling per failed attempt', () => {
    expect(nextAttemptDelayMs(1, policy, undefined, fixed(0.5))).toBe(500);
    expect(nextAttemptDelayMs(2, policy, undefined, fixed(0.5))).toBe(1000);
    expect(nextAttemptDelayMs(4, policy, undefined, fixed(0.5))).toBe(4000);
    expect(nextAttemptDelayMs(4, policy, undefined, fixed(0))).toBe(0);
  });

  it('caps at ALERT_RETRY_MAX_MS, also for absurd attempt numbers', () => {
    expect(nextAttemptDelayMs(10, policy, undefined, fixed(0.999999))).toBe(60_000);
    expect(nextAttemptDelayMs(5000, policy, undefined, fixed(0.5))).toBe(30_000);
  });

  it("uses the webhook's Retry-After instead of the jitter, within the cap", () => {
    expect(nextAttemptDelayMs(1, policy, 20_000, fixed(0))).toBe(20_000);
    expect(nextAttemptDelayMs(5, policy, 100, fixed(0.999999))).toBe(100);
    expect(nextAttemptDelayMs(1, policy, 3_600_000, fixed(0))).toBe(60_000);
  });
});

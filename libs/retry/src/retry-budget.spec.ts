import { RetryBudget } from './retry-budget';

describe('RetryBudget', () => {
  let t: number;
  const now = () => t;
  beforeEach(() => {
    t = 0;
  });

  const drain = (budget: RetryBudget): number => {
    let granted = 0;
    while (budget.tryAcquireRetry()) granted++;
    return granted;
  };

  it('allows the floor of retries with no traffic at all', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerWindow: 10, windowMs: 10_000 }, now);
    expect(drain(budget)).toBe(10);
    expect(budget.snapshot()).toEqual({ requests: 0, retries: 10 });
  });

  it('keeps the floor while ratio × requests is below it', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerWindow: 10, windowMs: 10_000 }, now);
    for (let i = 0; i < 30; i++) budget.recordRequest(); // 0.2 · 30 = 6 < 10
    expect(drain(budget)).toBe(10);
  });

  it('allows ratio × requests once that is above the floor', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerWindow: 10, windowMs: 10_000 }, now);
    for (let i = 0; i < 100; i++) budget.recordRequest();
    expect(drain(budget)).toBe(20);
    expect(budget.snapshot()).toEqual({ requests: 100, retries: 20 });
    // More traffic makes room for more retries.
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(drain(budget)).toBe(2);
  });

  it('grants the exact share despite float noise', () => {
    // 0.1 · 30 = 3.0000000000000004 and 0.57 · 100 = 56.99999999999999 in doubles.
    const a = new RetryBudget({ ratio: 0.1, minRetriesPerWindow: 0, windowMs: 10_000 }, now);
    for (let i = 0; i < 30; i++) a.recordRequest();
    expect(drain(a)).toBe(3);
    const b = new RetryBudget({ ratio: 0.57, minRetriesPerWindow: 0, windowMs: 10_000 }, now);
    for (let i = 0; i < 100; i++) b.recordRequest();
    expect(drain(b)).toBe(57);
  });

  it('allows no retries with a zero ratio and floor', () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerWindow: 0, windowMs: 10_000 }, now);
    for (let i = 0; i < 100; i++) budget.recordRequest();
    expect(budget.tryAcquireRetry()).toBe(false);
    expect(budget.snapshot().retries).toBe(0);
  });

  it('refills when the spent retries leave the window', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerWindow: 2, windowMs: 10_000 }, now);
    expect(drain(budget)).toBe(2);
    t = 9_999; // still inside the window
    expect(budget.tryAcquireRetry()).toBe(false);
    t = 10_000; // the retries at t = 0 are forgotten
    expect(budget.snapshot()).toEqual({ requests: 0, retries: 0 });
    expect(drain(budget)).toBe(2);
  });

  it('slides bucket by bucket: only old traffic expires', () => {
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerWindow: 0, windowMs: 10_000 }, now);
    for (let i = 0; i < 10; i++) budget.recordRequest(); // t = 0
    t = 5_000;
    for (let i = 0; i < 10; i++) budget.recordRequest(); // t = 5 s
    expect(budget.snapshot().requests).toBe(20);
    expect(drain(budget)).toBe(10);
    t = 10_000; // the first 10 requests leave; the 10 retries at 5 s stay
    expect(budget.snapshot()).toEqual({ requests: 10, retries: 10 });
    expect(budget.tryAcquireRetry()).toBe(false);
    t = 15_000; // everything has left
    expect(budget.snapshot()).toEqual({ requests: 0, retries: 0 });
  });

  it('forgets requests too, so a traffic drop shrinks the budget', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerWindow: 1, windowMs: 10_000 }, now);
    for (let i = 0; i < 100; i++) budget.recordRequest();
    t = 20_000;
    expect(drain(budget)).toBe(1);
  });

  it('survives a long idle gap and a clock stepping back', () => {
    const budget = new RetryBudget({ ratio: 1, minRetriesPerWindow: 0, windowMs: 10_000 }, now);
    budget.recordRequest();
    t = 1_000_000_000;
    expect(budget.snapshot()).toEqual({ requests: 0, retries: 0 });
    budget.recordRequest();
    t = 999_990_000; // NTP stepped the clock back: counted as standing still
    budget.recordRequest();
    expect(budget.snapshot()).toEqual({ requests: 2, retries: 0 });
    expect(drain(budget)).toBe(2);
  });

  it('uses Date.now by default', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerWindow: 1, windowMs: 10_000 });
    expect(budget.tryAcquireRetry()).toBe(true);
  });

  it('rejects nonsensical options', () => {
    expect(() => new RetryBudget({ ratio: -0.1, minRetriesPerWindow: 1, windowMs: 10_000 })).toThrow(RangeError);
    expect(() => new RetryBudget({ ratio: 0.2, minRetriesPerWindow: -1, windowMs: 10_000 })).toThrow(RangeError);
    expect(() => new RetryBudget({ ratio: 0.2, minRetriesPerWindow: 1, windowMs: 0 })).toThrow(RangeError);
  });
});

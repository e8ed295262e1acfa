import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker';

const options: CircuitBreakerOptions = { failureRatio: 0.5, minimumRequests: 10, windowMs: 30_000, coolDownMs: 15_000 };

describe('CircuitBreaker', () => {
  let t: number;
  const now = () => t;
  beforeEach(() => {
    t = 0;
  });

  const record = (breaker: CircuitBreaker, successes: number, failures: number) => {
    for (let i = 0; i < successes; i++) breaker.recordSuccess();
    for (let i = 0; i < failures; i++) breaker.recordFailure();
  };

  const opened = (overrides: Partial<CircuitBreakerOptions> = {}) => {
    const breaker = new CircuitBreaker({ ...options, ...overrides }, now);
    record(breaker, 0, 10);
    expect(breaker.state).toBe('open');
    return breaker;
  };

  describe('closed', () => {
    it('starts closed and lets everything through', () => {
      const breaker = new CircuitBreaker(options, now);
      expect(breaker.state).toBe('closed');
      for (let i = 0; i < 100; i++) expect(breaker.allowRequest()).toBe(true);
      expect(breaker.snapshot()).toEqual({ state: 'closed', failures: 0, requests: 0 });
    });

    it('does not open before minimumRequests, however bad the ratio', () => {
      const breaker = new CircuitBreaker(options, now);
      record(breaker, 0, 9);
      expect(breaker.state).toBe('closed');
      expect(breaker.allowRequest()).toBe(true);
      expect(breaker.snapshot()).toEqual({ state: 'closed', failures: 9, requests: 9 });
      breaker.recordFailure();
      expect(breaker.state).toBe('open');
    });

    it('opens exactly when the failure ratio reaches failureRatio', () => {
      const breaker = new CircuitBreaker(options, now);
      record(breaker, 6, 4); // 4 / 10 = 0.4
      expect(breaker.state).toBe('closed');
      breaker.recordFailure(); // 5 / 11 ≈ 0.45
      expect(breaker.state).toBe('closed');
      breaker.recordFailure(); // 6 / 12 = 0.5
      expect(breaker.state).toBe('open');
      expect(breaker.allowRequest()).toBe(false);
      expect(breaker.snapshot()).toEqual({ state: 'open', failures: 6, requests: 12, openedAt: 0 });
    });

    it('opens on the success that brings the window to minimumRequests when the ratio is already bad', () => {
      const breaker = new CircuitBreaker(options, now);
      record(breaker, 0, 9);
      breaker.recordSuccess(); // 9 / 10
      expect(breaker.state).toBe('open');
    });

    it('stays closed while failures stay under the ratio', () => {
      const breaker = new CircuitBreaker(options, now);
      for (let i = 0; i < 1000; i++) {
        if (i % 3 === 0) breaker.recordFailure();
        else breaker.recordSuccess();
      }
      expect(breaker.state).toBe('closed');
    });

    it('forgets failures that slide out of the window', () => {
      const breaker = new CircuitBreaker(options, now);
      record(breaker, 0, 9); // at t = 0
      t = 29_999;
      expect(breaker.snapshot()).toMatchObject({ failures: 9, requests: 9 });
      t = 30_000; // the failures at t = 0 are forgotten
      expect(breaker.snapshot()).toMatchObject({ failures: 0, requests: 0 });
      record(breaker, 9, 1); // 1 / 10
      expect(breaker.state).toBe('closed');
    });

    it('judges only the recent window, bucket by bucket', () => {
      const breaker = new CircuitBreaker(options, now);
      record(breaker, 10, 8); // t = 0: 8 / 18 failed
      t = 15_000;
      record(breaker, 10, 0); // t = 15 s: 8 / 28 failed
      expect(breaker.state).toBe('closed');
      t = 30_000; // the 8 failures leave: 0 / 10
      record(breaker, 0, 4); // 4 / 14
      expect(breaker.state).toBe('closed');
      expect(breaker.snapshot()).toMatchObject({ failures: 4, requests: 14 });
    });
  });

  describe('open', () => {
    it('refuses requests for the whole cool-down, then goes half-open', () => {
      const breaker = opened();
      t = 14_999;
      expect(breaker.allowRequest()).toBe(false);
      expect(breaker.state).toBe('open');
      t = 15_000;
      expect(breaker.state).toBe('half_open');
      expect(breaker.snapshot()).toMatchObject({ state: 'half_open', openedAt: 0 });
    });

    it('ignores late outcomes of attempts started before it opened', () => {
      const breaker = opened();
      t = 1_000;
      breaker.recordSuccess();
      expect(breaker.state).toBe('open');
      breaker.recordFailure();
      expect(breaker.snapshot()).toMatchObject({ state: 'open', openedAt: 0 });
      t = 15_000; // the cool-down still counts from the opening, not from the late failure
      expect(breaker.state).toBe('half_open');
    });
  });

  describe('half-open', () => {
    it('lets one probe through by default', () => {
      const breaker = opened();
      t = 15_000;
      expect(breaker.allowRequest()).toBe(true);
      expect(breaker.allowRequest()).toBe(false);
      expect(breaker.allowRequest()).toBe(false);
      expect(breaker.state).toBe('half_open');
    });

    it('lets halfOpenProbes probes through at a time', () => {
      const breaker = opened({ halfOpenProbes: 3 });
      t = 15_000;
      expect([1, 2, 3, 4].map(() => breaker.allowRequest())).toEqual([true, true, true, false]);
    });

    it('closes with an empty window on a successful probe', () => {
      const breaker = opened();
      t = 15_000;
      expect(breaker.allowRequest()).toBe(true);
      breaker.recordSuccess();
      expect(breaker.state).toBe('closed');
      expect(breaker.snapshot()).toEqual({ state: 'closed', failures: 0, requests: 0 });
      expect(breaker.allowRequest()).toBe(true);
      // The failures that opened it are gone: it takes a fresh minimumRequests to open again.
      record(breaker, 0, 9);
      expect(breaker.state).toBe('closed');
      breaker.recordFailure();
      expect(breaker.state).toBe('open');
      expect(breaker.snapshot().openedAt).toBe(15_000);
    });

    it('re-opens for a new cool-down on a failed probe', () => {
      const breaker = opened();
      t = 15_000;
      expect(breaker.allowRequest()).toBe(true);
      t = 16_000;
      breaker.recordFailure();
      expect(breaker.state).toBe('open');
      expect(breaker.snapshot().openedAt).toBe(16_000);
      t = 30_999;
      expect(breaker.allowRequest()).toBe(false);
      t = 31_000;
      expect(breaker.state).toBe('half_open');
      expect(breaker.allowRequest()).toBe(true);
      breaker.recordSuccess();
      expect(breaker.state).toBe('closed');
    });

    it('re-opens on the first failed probe even while others are in flight', () => {
      const breaker = opened({ halfOpenProbes: 2 });
      t = 15_000;
      breaker.allowRequest();
      breaker.allowRequest();
      breaker.recordFailure();
      expect(breaker.state).toBe('open');
      breaker.recordSuccess(); // the other probe, late: ignored while open
      expect(breaker.state).toBe('open');
    });

    it('frees the place of a probe that never reports, after a cool-down', () => {
      const breaker = opened();
      t = 15_000;
      expect(breaker.allowRequest()).toBe(true); // this probe's caller is cancelled and never reports
      t = 29_999;
      expect(breaker.allowRequest()).toBe(false);
      t = 30_000;
      expect(breaker.allowRequest()).toBe(true);
      expect(breaker.allowRequest()).toBe(false);
      breaker.recordSuccess();
      expect(breaker.state).toBe('closed');
    });
  });

  describe('consecutive failures', () => {
    it('opens after that many failures in a row even when the window is full of earlier successes', () => {
      const events: Array<{ reason: string }> = [];
      const breaker = new CircuitBreaker(
        { ...options, consecutiveFailures: 5, onOpen: (event) => events.push(event) },
        now,
      );
      record(breaker, 500, 0); // a long healthy stretch: the ratio alone would need 500 more failures
      record(breaker, 0, 4);
      expect(breaker.state).toBe('closed');
      breaker.recordFailure();
      expect(breaker.state).toBe('open');
      expect(breaker.allowRequest()).toBe(false);
      expect(events).toEqual([expect.objectContaining({ reason: 'consecutive_failures', failures: 5, requests: 505 })]);
    });

    it('starts counting again after any success', () => {
      const breaker = new CircuitBreaker({ ...options, minimumRequests: 1_000, consecutiveFailures: 3 }, now);
      for (let i = 0; i < 20; i++) record(breaker, 1, 2);
      expect(breaker.state).toBe('closed');
      breaker.recordFailure();
      breaker.recordFailure();
      breaker.recordFailure();
      expect(breaker.state).toBe('open');
    });

    it('counts from zero after the circuit closed again', () => {
      const breaker = new CircuitBreaker({ ...options, minimumRequests: 1_000, consecutiveFailures: 3 }, now);
      record(breaker, 0, 3);
      t = 15_000;
      expect(breaker.allowRequest()).toBe(true);
      breaker.recordSuccess();
      expect(breaker.state).toBe('closed');
      record(breaker, 0, 2);
      expect(breaker.state).toBe('closed');
    });

    it('is off unless set', () => {
      const breaker = new CircuitBreaker({ ...options, minimumRequests: 1_000 }, now);
      record(breaker, 0, 999);
      expect(breaker.state).toBe('closed');
    });
  });

  describe('onOpen', () => {
    it('reports each opening once, with where it came from and the numbers that opened it', () => {
      const events: unknown[] = [];
      const breaker = new CircuitBreaker({ ...options, onOpen: (event) => events.push(event) }, now);
      t = 500;
      record(breaker, 4, 6); // opens on the 10th outcome: 6 / 10
      expect(events).toEqual([{ from: 'closed', reason: 'failure_ratio', failures: 6, requests: 10, openedAt: 500 }]);
      breaker.recordFailure(); // late outcome while open: no second report
      expect(events).toHaveLength(1);
      t = 15_500;
      expect(breaker.allowRequest()).toBe(true);
      breaker.recordFailure(); // the probe fails: a re-opening, reported as such
      expect(events).toHaveLength(2);
      expect(events[1]).toMatchObject({ from: 'half_open', reason: 'probe_failed', openedAt: 15_500 });
    });

    it('swallows what the listener throws, so the request path never sees it', () => {
      const breaker = new CircuitBreaker(
        {
          ...options,
          onOpen: () => {
            throw new Error('listener broke');
          },
        },
        now,
      );
      expect(() => record(breaker, 0, 10)).not.toThrow();
      expect(breaker.state).toBe('open');
    });
  });

  it('uses Date.now by default', () => {
    const breaker = new CircuitBreaker({ ...options, minimumRequests: 1, failureRatio: 1 });
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.allowRequest()).toBe(false);
  });

  it('rejects nonsensical options', () => {
    expect(() => new CircuitBreaker({ ...options, failureRatio: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ ...options, failureRatio: 1.5 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ ...options, minimumRequests: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ ...options, windowMs: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ ...options, coolDownMs: -1 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ ...options, halfOpenProbes: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ ...options, consecutiveFailures: 0 })).toThrow(RangeError);
  });
});

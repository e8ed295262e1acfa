import { SlidingWindowCounter } from './sliding-window';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Open when failures / requests in the window reach this, e.g. 0.5. */
  failureRatio: number;
  /** …and only once the window holds at least this many outcomes, e.g. 10. */
  minimumRequests: number;
  /** e.g. 30_000 */
  windowMs: number;
  /** How long an open circuit refuses requests before letting probes through, e.g. 15_000. */
  coolDownMs: number;
  /**
   * Also open after this many failures in a row, whatever the window holds, e.g. 5. Without it a
   * window full of earlier successes keeps a model that now fails every call in rotation until the
   * failures outweigh them. Unset: only the ratio opens the circuit.
   */
  consecutiveFailures?: number;
  /** Requests let through at a time while half-open. Default 1. */
  halfOpenProbes?: number;
  /**
   * Called synchronously each time the circuit opens, with the state it left (`closed`: a new
   * outage; `half_open`: a probe failed) and the window's numbers at that moment. It runs on the
   * request path: keep it cheap, and do not let it throw (what it throws is swallowed).
   */
  onOpen?: (event: CircuitOpenedEvent) => void;
}

export interface CircuitOpenedEvent {
  from: Exclude<CircuitState, 'open'>;
  /** What opened it: the window's failure ratio, failures in a row, or a failed half-open probe. */
  reason: 'failure_ratio' | 'consecutive_failures' | 'probe_failed';
  /** Outcomes in the window when it opened (for `half_open`: the window that opened it before). */
  failures: number;
  requests: number;
  openedAt: number;
}

export interface CircuitBreakerSnapshot {
  state: CircuitState;
  failures: number;
  requests: number;
  openedAt?: number;
}

const REQUESTS = 0;
const FAILURES = 1;

/*
 * One breaker per upstream model. The caller asks allowRequest() before each attempt and reports
 * every attempt it was allowed to make with recordSuccess() or recordFailure(). A failure is the
 * provider's fault (5xx, 429, timeout, network error); an answer that is the client's fault (400,
 * context too long) shows a healthy provider and counts as a success.
 *
 * - closed: everything passes; outcomes are counted over a sliding window. The circuit opens when
 *   the window holds at least minimumRequests outcomes and failures / requests >= failureRatio, or
 *   (with consecutiveFailures set) after that many failures with no success in between.
 * - open: nothing passes until coolDownMs after opening, then half_open.
 * - half_open: up to halfOpenProbes requests at a time pass. A success closes the circuit with an
 *   empty window; a failure opens it again for a new cool-down. A probe that reports nothing for
 *   coolDownMs (its caller was cancelled and forgot to report) frees its place, so a lost probe
 *   cannot keep the circuit half-open and shut for good.
 *
 * Outcomes reported while open (attempts started before the circuit opened) are ignored.
 */
export class CircuitBreaker {
  private readonly window: SlidingWindowCounter;
  private readonly halfOpenProbes: number;
  private current: CircuitState = 'closed';
  private openedAt: number | undefined;
  private probesInFlight = 0;
  private lastProbeAt = 0;
  private failuresInARow = 0;

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly now: () => number = Date.now,
  ) {
    const { failureRatio, minimumRequests, coolDownMs, halfOpenProbes = 1, consecutiveFailures } = options;
    if (!(failureRatio > 0 && failureRatio <= 1)) {
      throw new RangeError(`failureRatio must be in (0, 1], got ${failureRatio}`);
    }
    if (!(Number.isInteger(minimumRequests) && minimumRequests >= 1)) {
      throw new RangeError(`minimumRequests must be an integer >= 1, got ${minimumRequests}`);
    }
    if (!(Number.isFinite(coolDownMs) && coolDownMs >= 0)) {
      throw new RangeError(`coolDownMs must be >= 0, got ${coolDownMs}`);
    }
    if (!(Number.isInteger(halfOpenProbes) && halfOpenProbes >= 1)) {
      throw new RangeError(`halfOpenProbes must be an integer >= 1, got ${halfOpenProbes}`);
    }
    if (consecutiveFailures !== undefined && !(Number.isInteger(consecutiveFailures) && consecutiveFailures >= 1)) {
      throw new RangeError(`consecutiveFailures must be an integer >= 1, got ${consecutiveFailures}`);
    }
    this.halfOpenProbes = halfOpenProbes;
    this.window = new SlidingWindowCounter(options.windowMs, 2, now);
  }

  get state(): CircuitState {
    this.refresh();
    return this.current;
  }

  allowRequest(): boolean {
    this.refresh();
    if (this.current === 'closed') return true;
    if (this.current === 'open') return false;
    const t = this.now();
    if (this.probesInFlight >= this.halfOpenProbes && t - this.lastProbeAt >= this.options.coolDownMs) {
      this.probesInFlight = 0;
    }
    if (this.probesInFlight >= this.halfOpenProbes) return false;
    this.probesInFlight++;
    this.lastProbeAt = t;
    return true;
  }

  recordSuccess(): void {
    this.refresh();
    if (this.current === 'open') return;
    if (this.current === 'half_open') {
      this.close();
      return;
    }
    this.failuresInARow = 0;
    this.window.add(REQUESTS);
    this.tripIfUnhealthy();
  }

  recordFailure(): void {
    this.refresh();
    if (this.current === 'open') return;
    if (this.current === 'half_open') {
      this.open('probe_failed');
      return;
    }
    this.failuresInARow++;
    this.window.add(REQUESTS);
    this.window.add(FAILURES);
    const limit = this.options.consecutiveFailures;
    if (limit !== undefined && this.failuresInARow >= limit) this.open('consecutive_failures');
    else this.tripIfUnhealthy();
  }

  snapshot(): CircuitBreakerSnapshot {
    const state = this.state;
    const snapshot: CircuitBreakerSnapshot = {
      state,
      failures: this.window.total(FAILURES),
      requests: this.window.total(REQUESTS),
    };
    if (this.openedAt !== undefined) snapshot.openedAt = this.openedAt;
    return snapshot;
  }

  private tripIfUnhealthy(): void {
    const requests = this.window.total(REQUESTS);
    if (requests < this.options.minimumRequests) return;
    if (this.window.total(FAILURES) / requests >= this.options.failureRatio) this.open('failure_ratio');
  }

  private refresh(): void {
    if (this.current === 'open' && this.now() - (this.openedAt ?? 0) >= this.options.coolDownMs) {
      this.current = 'half_open';
      this.probesInFlight = 0;
    }
  }

  private open(reason: CircuitOpenedEvent['reason']): void {
    const from = this.current as Exclude<CircuitState, 'open'>;
    this.current = 'open';
    this.openedAt = this.now();
    this.probesInFlight = 0;
    this.failuresInARow = 0;
    if (!this.options.onOpen) return;
    try {
      this.options.onOpen({
        from,
        reason,
        failures: this.window.total(FAILURES),
        requests: this.window.total(REQUESTS),
        openedAt: this.openedAt,
      });
    } catch {
      // A listener's failure must not turn into a failed request.
    }
  }

  private close(): void {
    this.current = 'closed';
    this.openedAt = undefined;
    this.probesInFlight = 0;
    this.failuresInARow = 0;
    this.window.reset();
  }
}

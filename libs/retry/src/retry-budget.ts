import { SlidingWindowCounter } from './sliding-window';

export interface RetryBudgetOptions {
  /** Retries may be at most this share of first attempts in the window, e.g. 0.2 = 20%. */
  ratio: number;
  /** Retries always allowed per window, so that low traffic can still retry, e.g. 10. */
  minRetriesPerWindow: number;
  /** e.g. 10_000 */
  windowMs: number;
}

export interface RetryBudgetSnapshot {
  requests: number;
  retries: number;
}

const REQUESTS = 0;
const RETRIES = 1;

/*
 * A retry budget as in Envoy and Finagle: per-request retry limits alone multiply load when a
 * provider is down (3 retries = 4× the traffic at the worst moment); a budget caps retries at a
 * share of the real traffic, so an outage costs at most (1 + ratio)× — plus the floor.
 *
 * Call recordRequest() for each first attempt and tryAcquireRetry() before each retry; a false
 * answer means "do not retry, surface the error".
 */
export class RetryBudget {
  private readonly window: SlidingWindowCounter;

  constructor(
    private readonly options: RetryBudgetOptions,
    now: () => number = Date.now,
  ) {
    const { ratio, minRetriesPerWindow } = options;
    if (!(Number.isFinite(ratio) && ratio >= 0)) throw new RangeError(`ratio must be >= 0, got ${ratio}`);
    if (!(Number.isFinite(minRetriesPerWindow) && minRetriesPerWindow >= 0)) {
      throw new RangeError(`minRetriesPerWindow must be >= 0, got ${minRetriesPerWindow}`);
    }
    this.window = new SlidingWindowCounter(options.windowMs, 2, now);
  }

  recordRequest(): void {
    this.window.add(REQUESTS);
  }

  tryAcquireRetry(): boolean {
    const retries = this.window.total(RETRIES);
    const limit = Math.max(this.options.minRetriesPerWindow, this.options.ratio * this.window.total(REQUESTS));
    // The tolerance keeps float noise (0.1 · 30 = 3.0000000000000004) from granting one retry too many.
    if (retries >= limit - 1e-9 * Math.max(1, limit)) return false;
    this.window.add(RETRIES);
    return true;
  }

  snapshot(): RetryBudgetSnapshot {
    return { requests: this.window.total(REQUESTS), retries: this.window.total(RETRIES) };
  }
}

export { parseRetryAfterMs, formatRetryAfterSeconds } from './retry-after';
export type { HeaderSource } from './retry-after';
export { fullJitterDelayMs, retryDelayMs } from './backoff';
export type { BackoffPolicy } from './backoff';
export { RetryBudget } from './retry-budget';
export type { RetryBudgetOptions, RetryBudgetSnapshot } from './retry-budget';
export { CircuitBreaker } from './circuit-breaker';
export type {
  CircuitState,
  CircuitBreakerOptions,
  CircuitBreakerSnapshot,
  CircuitOpenedEvent,
} from './circuit-breaker';
export { isRetryableStatus } from './retryable';
export { SlidingWindowCounter } from './sliding-window';

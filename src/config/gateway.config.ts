import { registerAs } from '@nestjs/config';
import { Fraction, IntegerBetween, readEnv, Size, sizeInBytes, validateConfig } from './validate-config';

class GatewayEnvironment {
  @IntegerBetween('GATEWAY_MAX_RETRIES', 0, 10)
  GATEWAY_MAX_RETRIES = 2;

  @IntegerBetween('GATEWAY_RETRY_BASE_MS', 1, 60_000)
  GATEWAY_RETRY_BASE_MS = 250;

  @IntegerBetween('GATEWAY_RETRY_MAX_MS', 1, 120_000)
  GATEWAY_RETRY_MAX_MS = 8_000;

  @Fraction('GATEWAY_RETRY_BUDGET_RATIO')
  GATEWAY_RETRY_BUDGET_RATIO = 0.2;

  @IntegerBetween('GATEWAY_RETRY_BUDGET_MIN_PER_WINDOW', 0, 100_000)
  GATEWAY_RETRY_BUDGET_MIN_PER_WINDOW = 20;

  @Fraction('GATEWAY_BREAKER_FAILURE_RATIO')
  GATEWAY_BREAKER_FAILURE_RATIO = 0.5;

  @IntegerBetween('GATEWAY_BREAKER_MIN_REQUESTS', 1, 100_000)
  GATEWAY_BREAKER_MIN_REQUESTS = 10;

  @IntegerBetween('GATEWAY_BREAKER_WINDOW_MS', 100, 3_600_000)
  GATEWAY_BREAKER_WINDOW_MS = 30_000;

  @IntegerBetween('GATEWAY_BREAKER_COOLDOWN_MS', 10, 3_600_000)
  GATEWAY_BREAKER_COOLDOWN_MS = 15_000;

  @IntegerBetween('GATEWAY_BREAKER_CONSECUTIVE_FAILURES', 1, 100_000)
  GATEWAY_BREAKER_CONSECUTIVE_FAILURES = 5;

  @Fraction('GATEWAY_CONTEXT_GUARD_RATIO')
  GATEWAY_CONTEXT_GUARD_RATIO = 0.9;

  @Size('GATEWAY_ANSWER_LIMIT', '8mb or 32mb')
  GATEWAY_ANSWER_LIMIT = '32mb';
}

export interface GatewayConfig {
  retry: {
    maxRetries: number;
    baseDelayMs: number;
    maxDelayMs: number;
    budgetRatio: number;
    budgetMinPerWindow: number;
  };
  breaker: {
    failureRatio: number;
    minimumRequests: number;
    windowMs: number;
    coolDownMs: number;
    /** Failures in a row that open the circuit whatever the window holds. */
    consecutiveFailures: number;
  };
  /** A prompt estimated above this share of the model's context window is rejected before any call. */
  contextGuardRatio: number;
  /**
   * The most an upstream may send in one answer read whole (a JSON completion, an error body) or in
   * one stream event; beyond it the attempt fails as `too_large` instead of filling the memory.
   */
  answerLimitBytes: number;
}

export const GATEWAY_ENV = Object.keys(new GatewayEnvironment());

export const gatewayConfig = registerAs('gateway', (): GatewayConfig => {
  const env = validateConfig(GatewayEnvironment, readEnv(GATEWAY_ENV), 'environment');
  return {
    retry: {
      maxRetries: env.GATEWAY_MAX_RETRIES,
      baseDelayMs: env.GATEWAY_RETRY_BASE_MS,
      maxDelayMs: env.GATEWAY_RETRY_MAX_MS,
      budgetRatio: env.GATEWAY_RETRY_BUDGET_RATIO,
      budgetMinPerWindow: env.GATEWAY_RETRY_BUDGET_MIN_PER_WINDOW,
    },
    breaker: {
      failureRatio: env.GATEWAY_BREAKER_FAILURE_RATIO,
      minimumRequests: env.GATEWAY_BREAKER_MIN_REQUESTS,
      windowMs: env.GATEWAY_BREAKER_WINDOW_MS,
      coolDownMs: env.GATEWAY_BREAKER_COOLDOWN_MS,
      consecutiveFailures: env.GATEWAY_BREAKER_CONSECUTIVE_FAILURES,
    },
    contextGuardRatio: env.GATEWAY_CONTEXT_GUARD_RATIO,
    answerLimitBytes: sizeInBytes(env.GATEWAY_ANSWER_LIMIT),
  };
});

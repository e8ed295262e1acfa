import { Inject, Injectable } from '@nestjs/common';
import { CircuitBreaker, type CircuitState, RetryBudget } from '@switchyard/retry';
import { gatewayConfig, type GatewayConfig } from '../config/gateway.config';

const RETRY_BUDGET_WINDOW_MS = 10_000;

/**
 * Per-model circuit breakers and retry budgets, shared by every request in this process. Routing
 * asks it which models are available; the provider client records each attempt's outcome.
 */
@Injectable()
export class ModelHealth {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly budgets = new Map<string, RetryBudget>();

  constructor(@Inject(gatewayConfig.KEY) private readonly config: GatewayConfig) {}

  breaker(modelId: string): CircuitBreaker {
    let breaker = this.breakers.get(modelId);
    if (!breaker) {
      breaker = new CircuitBreaker(this.config.breaker);
      this.breakers.set(modelId, breaker);
    }
    return breaker;
  }

  budget(modelId: string): RetryBudget {
    let budget = this.budgets.get(modelId);
    if (!budget) {
      const { budgetRatio, budgetMinPerWindow } = this.config.retry;
      budget = new RetryBudget({ ratio: budgetRatio, minRetriesPerWindow: budgetMinPerWindow, windowMs: RETRY_BUDGET_WINDOW_MS });
      this.budgets.set(modelId, budget);
    }
    return budget;
  }

  /** Every model's circuit state that has been called at least once (for Prometheus). */
  circuitStates(): Array<{ model: string; state: CircuitState }> {
    return [...this.breakers].map(([model, breaker]) => ({ model, state: breaker.state }));
  }

  /** False while the model's circuit is open; routing skips such models. */
  isAvailable(modelId: string): boolean {
    return this.breakers.get(modelId)?.state !== 'open';
  }
}

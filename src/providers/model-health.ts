import { Inject, Injectable, Logger } from '@nestjs/common';
import { CircuitBreaker, type CircuitOpenedEvent, type CircuitState, RetryBudget } from '@switchyard/retry';
import { CatalogService } from '../catalog/catalog.service';
import { Clock } from '../common/clock';
import { gatewayConfig, type GatewayConfig } from '../config/gateway.config';

const RETRY_BUDGET_WINDOW_MS = 10_000;

/** A model's circuit went from closed to open: a new outage of that model as this process sees it. */
export interface ModelCircuitOpened {
  model: string;
  provider: string;
  /** Epoch ms; with the model it identifies this opening. */
  openedAt: number;
  /** The window's failure ratio, or failures in a row (GATEWAY_BREAKER_CONSECUTIVE_FAILURES). */
  reason: CircuitOpenedEvent['reason'];
  failures: number;
  requests: number;
  /** The breaker's settings that the numbers were judged against. */
  breaker: GatewayConfig['breaker'];
}

export type ModelCircuitListener = (event: ModelCircuitOpened) => void;

/**
 * Per-model circuit breakers and retry budgets, and the gateway's budget of extra calls, shared by
 * every request in this process. Routing asks it which models are available; the provider client
 * records each attempt's outcome.
 *
 * Other modules learn about circuits opening by subscribing (`onCircuitOpened`): providers know
 * nothing of who listens (alerts does), so the dependency points from the listener to here.
 */
@Injectable()
export class ModelHealth {
  private readonly logger = new Logger(ModelHealth.name);
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly budgets = new Map<string, RetryBudget>();
  private readonly circuitListeners = new Set<ModelCircuitListener>();
  /**
   * Upstream calls beyond each request's first — retries on a model and fallbacks to the next one
   * alike — may be at most GATEWAY_RETRY_BUDGET_RATIO of the requests (with the same floor). The
   * per-model budgets alone let a storm on every model cost one call per retry per candidate (2.4x
   * measured); this one bounds the whole request, so an outage costs at most ~1.2x the traffic.
   */
  readonly extraCallBudget: RetryBudget;

  constructor(
    @Inject(gatewayConfig.KEY) private readonly config: GatewayConfig,
    private readonly catalog: CatalogService,
    private readonly clock: Clock,
  ) {
    this.extraCallBudget = this.newBudget();
    // A model a reload removed has no circuit left to report (Prometheus) or to consult; new models
    // get theirs on first use.
    catalog.onChange(({ current }) => {
      const models = new Set(current.catalog.models.map((model) => model.id));
      for (const id of [...this.breakers.keys(), ...this.budgets.keys()]) {
        if (models.has(id)) continue;
        this.breakers.delete(id);
        this.budgets.delete(id);
      }
    });
  }

  /** Breakers' cool-downs and the budgets' windows run on the app's clock, which tests move by hand. */
  private readonly nowMs = () => this.clock.nowMs();

  breaker(modelId: string): CircuitBreaker {
    let breaker = this.breakers.get(modelId);
    if (!breaker) {
      breaker = new CircuitBreaker(
        { ...this.config.breaker, onOpen: (event) => this.circuitOpened(modelId, event) },
        this.nowMs,
      );
      this.breakers.set(modelId, breaker);
    }
    return breaker;
  }

  budget(modelId: string): RetryBudget {
    let budget = this.budgets.get(modelId);
    if (!budget) {
      budget = this.newBudget();
      this.budgets.set(modelId, budget);
    }
    return budget;
  }

  private newBudget(): RetryBudget {
    const { budgetRatio, budgetMinPerWindow } = this.config.retry;
    return new RetryBudget(
      {
        ratio: budgetRatio,
        minRetriesPerWindow: budgetMinPerWindow,
        windowMs: RETRY_BUDGET_WINDOW_MS,
      },
      this.nowMs,
    );
  }

  /** Every model's circuit state that has been called at least once (for Prometheus). */
  circuitStates(): Array<{ model: string; state: CircuitState }> {
    return [...this.breakers].map(([model, breaker]) => ({ model, state: breaker.state }));
  }

  /** How long until the model's open circuit lets a probe through; 0 when it is not open. */
  reopensInMs(modelId: string): number {
    const breaker = this.breakers.get(modelId);
    const openedAt = breaker?.state === 'open' ? breaker.snapshot().openedAt : undefined;
    return openedAt === undefined ? 0 : Math.max(0, openedAt + this.config.breaker.coolDownMs - this.nowMs());
  }

  /** False while the model's circuit is open; routing skips such models. */
  isAvailable(modelId: string): boolean {
    return this.breakers.get(modelId)?.state !== 'open';
  }

  /**
   * Calls `listener` synchronously, on the request path, whenever a model's circuit opens after
   * having been closed (a failed half-open probe re-opening it is the same outage and is not
   * reported again). Listeners must return at once and not throw. Returns the unsubscribe function.
   */
  onCircuitOpened(listener: ModelCircuitListener): () => void {
    this.circuitListeners.add(listener);
    return () => this.circuitListeners.delete(listener);
  }

  private circuitOpened(modelId: string, event: CircuitOpenedEvent): void {
    if (event.from !== 'closed') {
      this.logger.debug({ model: modelId }, 'circuit re-opened: the half-open probe failed');
      return;
    }
    this.logger.warn({ model: modelId, failures: event.failures, requests: event.requests }, 'circuit opened');
    if (this.circuitListeners.size === 0) return;
    const opened: ModelCircuitOpened = {
      model: modelId,
      provider: this.catalog.findModel(modelId)?.provider ?? 'unknown',
      openedAt: event.openedAt,
      reason: event.reason,
      failures: event.failures,
      requests: event.requests,
      breaker: this.config.breaker,
    };
    for (const listener of this.circuitListeners) {
      try {
        listener(opened);
      } catch (error) {
        this.logger.error({ err: error, model: modelId }, 'circuit listener failed');
      }
    }
  }
}

import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ModelHealth } from '../providers/model-health';
import { MetricsWriter } from './metrics-writer';
import type { RequestMetric } from './request-metric';

const CIRCUIT_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
/** Seconds; from a cache hit on a fast model to a long fraud-tier completion. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds; the gateway's own time is tenths of a millisecond on a small prompt, milliseconds on a large one. */
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * The Prometheus view of the same requests the rows describe. One registry per app (not prom-client's
 * global one), so two instances in one process — as in the e2e tests — do not share counters.
 */
@Injectable()
export class PrometheusMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'policy' | 'flag' | 'variant' | 'model' | 'outcome'>;
  private readonly latency: Histogram<'policy' | 'variant' | 'model' | 'outcome'>;
  private readonly ttft: Histogram<'policy' | 'variant' | 'model'>;
  private readonly overhead: Histogram<'policy'>;
  private readonly tokens: Counter<'policy' | 'model' | 'kind'>;
  private readonly cost: Counter<'policy' | 'model'>;

  constructor(writer: MetricsWriter, health: ModelHealth) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'switchyard_requests_total',
      help: 'Requests through /v1/chat/completions by outcome (one per request_metrics row)',
      labelNames: ['policy', 'flag', 'variant', 'model', 'outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: 'switchyard_request_duration_seconds',
      help: 'Total request latency as the client saw it',
      labelNames: ['policy', 'variant', 'model', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.ttft = new Histogram({
      name: 'switchyard_time_to_first_token_seconds',
      help: 'Streams: time until the first event reached the client',
      labelNames: ['policy', 'variant', 'model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.overhead = new Histogram({
      name: 'switchyard_gateway_overhead_seconds',
      help: "The gateway's own time per request: total minus the upstream calls (up to the response head), as in Server-Timing",
      labelNames: ['policy'],
      buckets: OVERHEAD_BUCKETS,
      registers,
    });
    this.tokens = new Counter({
      name: 'switchyard_tokens_total',
      help: 'Tokens by kind (prompt, completion)',
      labelNames: ['policy', 'model', 'kind'],
      registers,
    });
    this.cost = new Counter({
      name: 'switchyard_cost_usd_total',
      help: 'Spend in USD at catalog prices',
      labelNames: ['policy', 'model'],
      registers,
    });
    new Gauge({
      name: 'switchyard_metrics_queue_depth',
      help: 'Metric rows waiting for the batched writer',
      registers,
      collect() {
        this.set(writer.snapshot().queued);
      },
    });
    new Counter({
      name: 'switchyard_metrics_rows_written_total',
      help: 'Metric rows written to Postgres since start',
      registers,
      collect() {
        this.reset();
        this.inc(writer.snapshot().written);
      },
    });
    new Counter({
      name: 'switchyard_metrics_rows_dropped_total',
      help: 'Metric rows dropped because the queue was full (database down too long) since start',
      registers,
      collect() {
        this.reset();
        this.inc(writer.snapshot().dropped);
      },
    });
    new Gauge({
      name: 'switchyard_circuit_state',
      help: 'Circuit breaker per model: 0 closed, 1 half-open, 2 open',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const { model, state } of health.circuitStates()) this.set({ model }, CIRCUIT_STATE_VALUE[state]);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  observe(metric: RequestMetric): void {
    const policy = metric.policy ?? 'none';
    const variant = metric.variant ?? 'none';
    const model = metric.model ?? 'none';
    this.requests.inc({ policy, flag: metric.flag ?? 'none', variant, model, outcome: metric.outcome });
    this.latency.observe({ policy, variant, model, outcome: metric.outcome }, metric.latencyMs / 1000);
    if (metric.ttftMs !== null) this.ttft.observe({ policy, variant, model }, metric.ttftMs / 1000);
    this.overhead.observe({ policy }, metric.overheadMs / 1000);
    if (metric.promptTokens !== null) this.tokens.inc({ policy, model, kind: 'prompt' }, metric.promptTokens);
    if (metric.completionTokens !== null)
      this.tokens.inc({ policy, model, kind: 'completion' }, metric.completionTokens);
    if (metric.costUsd !== null) this.cost.inc({ policy, model }, Number(metric.costUsd));
  }
}

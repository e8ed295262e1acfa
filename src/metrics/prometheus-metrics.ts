import { Injectable } from '@nestjs/common';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { clusterExposition, isWorker, workerId } from '../lifecycle/workers';
import { AnswerParser } from '../providers/answer-parser';
import { ContextGuard } from '../providers/context-guard';
import { ModelHealth } from '../providers/model-health';
import { BoundCounter, BoundHistogram, type CounterHandle, type HistogramHandle } from './bound-series';
import { MetricsWriter } from './metrics-writer';
import type { RequestMetric } from './request-metric';

const CIRCUIT_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
/** Seconds; from a cache hit on a fast model to a long fraud-tier completion. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds; the gateway's own time is tenths of a millisecond on a small prompt, milliseconds on a large one. */
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Every series one request updates, for one combination of its labels. */
interface RequestSeries {
  requests: CounterHandle;
  latency: HistogramHandle;
  ttft: HistogramHandle;
  overhead: HistogramHandle;
  promptTokens: CounterHandle;
  completionTokens: CounterHandle;
  cost: CounterHandle;
}

/**
 * The Prometheus view of the same requests the rows describe. One registry per app (not prom-client's
 * global one), so two instances in one process — as in the e2e tests — do not share counters. The
 * per-request series are bound once per label combination (bound-series.ts): recording a request
 * is one lookup and a few additions.
 */
@Injectable()
export class PrometheusMetrics {
  readonly registry = new Registry();
  private readonly requests: BoundCounter;
  private readonly latency: BoundHistogram;
  private readonly ttft: BoundHistogram;
  private readonly overhead: BoundHistogram;
  private readonly tokens: BoundCounter;
  private readonly cost: BoundCounter;
  private readonly seriesByLabels = new Map<string, RequestSeries>();
  /** Under WORKERS: the requests this worker served, so a scrape shows how the port shares them out. */
  private readonly workerRequests?: CounterHandle;

  constructor(writer: MetricsWriter, health: ModelHealth, contextGuard: ContextGuard, answerParser: AnswerParser) {
    const registers = [this.registry];
    this.requests = new BoundCounter(this.registry, {
      name: 'switchyard_requests_total',
      help: 'Requests through /v1/chat/completions by outcome (one per request_metrics row)',
      labelNames: ['policy', 'flag', 'variant', 'model', 'outcome'],
    });
    this.latency = new BoundHistogram(this.registry, {
      name: 'switchyard_request_duration_seconds',
      help: 'Total request latency as the client saw it',
      labelNames: ['policy', 'variant', 'model', 'outcome'],
      buckets: LATENCY_BUCKETS,
    });
    this.ttft = new BoundHistogram(this.registry, {
      name: 'switchyard_time_to_first_token_seconds',
      help: 'Streams: time until the first event reached the client',
      labelNames: ['policy', 'variant', 'model'],
      buckets: LATENCY_BUCKETS,
    });
    this.overhead = new BoundHistogram(this.registry, {
      name: 'switchyard_gateway_overhead_seconds',
      help: "The gateway's own time per request: total minus the upstream calls (up to the response head), as in Server-Timing",
      labelNames: ['policy'],
      buckets: OVERHEAD_BUCKETS,
    });
    this.tokens = new BoundCounter(this.registry, {
      name: 'switchyard_tokens_total',
      help: 'Tokens by kind (prompt, completion)',
      labelNames: ['policy', 'model', 'kind'],
    });
    this.cost = new BoundCounter(this.registry, {
      name: 'switchyard_cost_usd_total',
      help: 'Spend in USD at catalog prices',
      labelNames: ['policy', 'model'],
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
      // Each worker keeps its own breakers: across workers, the worst state.
      aggregator: 'max',
      collect() {
        this.reset();
        for (const { model, state } of health.circuitStates()) this.set({ model }, CIRCUIT_STATE_VALUE[state]);
      },
    });
    new Counter({
      name: 'switchyard_tokenizer_worker_starts_total',
      help: 'Tokenizer worker threads started: 0 until a prompt first needs counting (bytes settle most), 1 after, more after failures',
      registers,
      collect() {
        this.reset();
        this.inc(contextGuard.tokenizer.starts);
      },
    });
    new Counter({
      name: 'switchyard_tokenizer_failures_total',
      help: 'Tokenizer worker threads that failed to load or died, and counts the tokenizer threw on: the prompts in flight went through uncounted',
      registers,
      collect() {
        this.reset();
        this.inc(contextGuard.tokenizer.failures);
      },
    });
    new Counter({
      name: 'switchyard_answer_parser_worker_starts_total',
      help: 'Answer parser worker threads started: 0 until an upstream answer or stream event of 256 KB or more, 1 after, more after failures',
      registers,
      collect() {
        this.reset();
        this.inc(answerParser.stats.starts);
      },
    });
    new Counter({
      name: 'switchyard_answer_parser_failures_total',
      help: 'Answer parser worker threads that failed to load or died, and parses that threw',
      registers,
      collect() {
        this.reset();
        this.inc(answerParser.stats.failures);
      },
    });
    new Counter({
      name: 'switchyard_answers_unread_total',
      help: 'Large upstream answers and stream events passed to the client unread because the parser failed: their usage unknown (budgets charge the worst case), their quality not judged',
      registers,
      collect() {
        this.reset();
        this.inc(answerParser.stats.unread);
      },
    });
    collectDefaultMetrics({ register: this.registry });
    if (isWorker()) {
      this.workerRequests = new BoundCounter(this.registry, {
        name: 'switchyard_worker_requests_total',
        help: 'Requests through /v1/chat/completions served by each gateway worker (WORKERS > 1)',
        labelNames: ['worker', 'pid'],
      }).bind(String(workerId()), String(process.pid));
      // The primary collects this registry from every worker (prom-client's cluster messages).
      new AggregatorRegistry();
      AggregatorRegistry.setRegistries([this.registry]);
    }
  }

  /** The Prometheus text for a scrape: this process's series, or under WORKERS every worker's added up. */
  exposition(): Promise<string> {
    return isWorker() ? clusterExposition() : this.registry.metrics();
  }

  observe(metric: RequestMetric): void {
    const series = this.seriesOf(metric);
    series.requests.value++;
    if (this.workerRequests) this.workerRequests.value++;
    series.latency.observe(metric.latencyMs / 1000);
    if (metric.ttftMs !== null) series.ttft.observe(metric.ttftMs / 1000);
    series.overhead.observe(metric.overheadMs / 1000);
    if (metric.promptTokens !== null) series.promptTokens.value += metric.promptTokens;
    if (metric.completionTokens !== null) series.completionTokens.value += metric.completionTokens;
    if (metric.costUsd !== null) series.cost.value += Number(metric.costUsd);
  }

  private seriesOf(metric: RequestMetric): RequestSeries {
    const policy = metric.policy ?? 'none';
    const flag = metric.flag ?? 'none';
    const variant = metric.variant ?? 'none';
    const model = metric.model ?? 'none';
    const outcome = metric.outcome;
    const key = `${policy}\u0000${flag}\u0000${variant}\u0000${model}\u0000${outcome}`;
    let series = this.seriesByLabels.get(key);
    if (!series) {
      series = {
        requests: this.requests.bind(policy, flag, variant, model, outcome),
        latency: this.latency.bind(policy, variant, model, outcome),
        ttft: this.ttft.bind(policy, variant, model),
        overhead: this.overhead.bind(policy),
        promptTokens: this.tokens.bind(policy, model, 'prompt'),
        completionTokens: this.tokens.bind(policy, model, 'completion'),
        cost: this.cost.bind(policy, model),
      };
      this.seriesByLabels.set(key, series);
    }
    return series;
  }
}

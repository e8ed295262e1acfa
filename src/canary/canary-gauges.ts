import { Injectable, Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { within } from '../common/within';
import { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { CanariesRepository } from './canaries.repository';
import type { StoredVerdict } from './canary.types';
import type { CanaryEntity } from './entities/canary.entity';

type Labels = Record<string, string>;

/**
 * How long a scrape waits for the canaries' rows. A database that hangs rather than refuses would
 * otherwise hold the whole scrape for the statement's bound (a minute): past the scraper's timeout
 * (10 s by default), so every other series is lost for as long as the outage lasts.
 */
export const CANARY_GAUGES_READ_MS = 2_000;

/**
 * Every analysis value of the active canaries' latest verdicts as Prometheus gauges, with the margin
 * or limit each is judged against, so teams that live in Grafana see the numbers the control room
 * and GET /api/canaries show (docs/grafana/canaries.json). Read from the canaries table at scrape
 * time, so every replica (and every worker) shows the same values whichever judged the tick, and
 * only active canaries have series: one that ends is gone at the next scrape. One query per scrape,
 * shared by the gauges.
 */
@Injectable()
export class CanaryGauges {
  private readonly logger = new Logger(CanaryGauges.name);
  private pending: Promise<CanaryEntity[] | null> | null = null;
  private reading: Promise<CanaryEntity[] | null> | null = null;

  constructor(
    prometheus: PrometheusMetrics,
    private readonly canaries: CanariesRepository,
  ) {
    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (canary: CanaryEntity, set: Setter) => void,
    ) => {
      const load = () => this.load();
      new Gauge({
        name,
        help,
        labelNames,
        registers: [prometheus.registry],
        // Every worker reads the same rows: any one of them is the value (a sum would multiply it).
        aggregator: 'first',
        async collect() {
          const active = await load();
          // The database did not answer: keep the last values rather than fail the whole scrape.
          if (active === null) return;
          this.reset();
          for (const canary of active) {
            try {
              fill(canary, (labels, value) => value !== null && value !== undefined && this.set(labels, value));
            } catch {
              // A verdict stored in an older shape (a canary from before the decision engine) has
              // fewer numbers: it shows what it has, and never fails the scrape.
            }
          }
        },
      });
    };
    const base = (canary: CanaryEntity): Labels => ({ canary: canary.id, flag: canary.flagKey });
    const verdictOf = (canary: CanaryEntity) => canary.lastVerdict as StoredVerdict | null;

    gauge('switchyard_canary_stage', 'Active canary: its stage, 1-based', ['canary', 'flag', 'state'], (canary, set) =>
      set({ ...base(canary), state: canary.state }, canary.stageStartedAt ? canary.stageIndex + 1 : 0),
    );
    gauge(
      'switchyard_canary_treatment_share',
      "Active canary: the treatment's share, planned (the stage's weight, 0-1) and observed (users in the latest verdict)",
      ['canary', 'flag', 'kind'],
      (canary, set) => {
        if (canary.stageStartedAt)
          set({ ...base(canary), kind: 'planned' }, canary.stages[canary.stageIndex].percentage / 100);
        const units = verdictOf(canary)?.srm?.units;
        if (units && units.treatment + units.control > 0)
          set({ ...base(canary), kind: 'observed' }, units.treatment / (units.treatment + units.control));
      },
    );
    gauge(
      'switchyard_canary_requests',
      "Active canary: requests of each arm in the latest verdict's window",
      ['canary', 'flag', 'arm'],
      (canary, set) => {
        const n = verdictOf(canary)?.n;
        if (!n) return;
        set({ ...base(canary), arm: 'treatment' }, n.treatment.requests);
        if (n.control) set({ ...base(canary), arm: 'control' }, n.control.requests);
      },
    );
    gauge(
      'switchyard_canary_metric_value',
      "Active canary: each guardrail's estimate per arm in the latest verdict (rates 0-1, latencies ms, cost USD)",
      ['canary', 'flag', 'metric', 'arm'],
      (canary, set) => {
        for (const metric of verdictOf(canary)?.metrics ?? []) {
          set({ ...base(canary), metric: metric.metric, arm: 'treatment' }, metric.treatment.estimate);
          if (metric.control) set({ ...base(canary), metric: metric.metric, arm: 'control' }, metric.control.estimate);
        }
      },
    );
    gauge(
      'switchyard_canary_metric_effect',
      'Active canary: treatment - control (scale difference) or treatment / control (scale ratio), or the treatment against a limit',
      ['canary', 'flag', 'metric', 'scale'],
      (canary, set) => {
        for (const metric of verdictOf(canary)?.metrics ?? [])
          set({ ...base(canary), metric: metric.metric, scale: metric.scale }, metric.effect);
      },
    );
    gauge(
      'switchyard_canary_metric_interval',
      "Active canary: the effect's anytime-valid confidence sequence at the latest look (bound low or high; absent when unbounded)",
      ['canary', 'flag', 'metric', 'bound'],
      (canary, set) => {
        for (const metric of verdictOf(canary)?.metrics ?? []) {
          set({ ...base(canary), metric: metric.metric, bound: 'low' }, metric.interval?.[0]);
          set({ ...base(canary), metric: metric.metric, bound: 'high' }, metric.interval?.[1]);
        }
      },
    );
    gauge(
      'switchyard_canary_metric_margin',
      "Active canary: where harm starts on the effect's scale (type absolute, relative, or limit for a hard gate)",
      ['canary', 'flag', 'metric', 'type'],
      (canary, set) => {
        for (const metric of verdictOf(canary)?.metrics ?? [])
          set({ ...base(canary), metric: metric.metric, type: metric.marginType }, metric.margin);
      },
    );
    gauge(
      'switchyard_canary_metric_harm',
      'Active canary: 1 when the metric is judged worse than its margin at the latest look, else 0',
      ['canary', 'flag', 'metric'],
      (canary, set) => {
        for (const metric of verdictOf(canary)?.metrics ?? [])
          set({ ...base(canary), metric: metric.metric }, metric.status === 'harm' ? 1 : 0);
      },
    );
    gauge(
      'switchyard_canary_metric_p_value',
      'Active canary: anytime-valid p-value of "worse than the margin" at the latest look',
      ['canary', 'flag', 'metric'],
      (canary, set) => {
        for (const metric of verdictOf(canary)?.metrics ?? [])
          set({ ...base(canary), metric: metric.metric }, metric.pValue);
      },
    );
    gauge(
      'switchyard_canary_srm_p_value',
      "Active canary: the sample-ratio test's anytime p-value (kind value) and the threshold below which it pauses (kind threshold)",
      ['canary', 'flag', 'kind'],
      (canary, set) => {
        const srm = verdictOf(canary)?.srm;
        if (!srm?.checked) return;
        set({ ...base(canary), kind: 'value' }, srm.pValue);
        set({ ...base(canary), kind: 'threshold' }, srm.threshold);
      },
    );
    gauge(
      'switchyard_canary_verdict_timestamp_seconds',
      'Active canary: when its latest verdict was judged (Unix seconds)',
      ['canary', 'flag'],
      (canary, set) => {
        const verdict = verdictOf(canary);
        if (verdict) set(base(canary), Date.parse(verdict.at) / 1000);
      },
    );
  }

  /** The active canaries, one query for all the gauges of one scrape; null when the database fails or hangs. */
  private load(): Promise<CanaryEntity[] | null> {
    if (!this.pending) {
      this.pending = this.readWithin(CANARY_GAUGES_READ_MS);
      // The gauges of one scrape ask within the same moment; the next scrape reads again.
      void this.pending.finally(() => setImmediate(() => (this.pending = null)));
    }
    return this.pending;
  }

  private async readWithin(ms: number): Promise<CanaryEntity[] | null> {
    // A read that outlasted its scrape is joined by the next scrapes, not repeated: on a hung
    // database each one would hold another pooled connection until the statement's bound.
    if (!this.reading) {
      const reading = this.canaries.active().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'canary gauges: the canaries could not be read; the last values stay');
        return null;
      });
      this.reading = reading;
      void reading.finally(() => (this.reading = null));
    }
    const reading = this.reading;
    if (await within(reading, ms)) return reading;
    this.logger.warn(`canary gauges: the canaries were not read within ${ms} ms; the last values stay`);
    return null;
  }
}

type Setter = (labels: Labels, value: number | null | undefined) => void;

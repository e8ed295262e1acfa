import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import type { MetricsWindowQueryDto, SummaryGrouping, TimeseriesQueryDto } from './dto/metrics-query.dto';
import type { MetricsFiguresDto, SummaryDto, TimeseriesDto } from './dto/metrics-result.dto';
import { OUTCOMES } from './entities/request-metric.entity';
import { QUALITY_BIT, QUALITY_SIGNALS } from './quality-signals';
import { TooManyBuckets } from './metrics-query.errors';
import { isoWindow, parseWindow, type Window } from './metrics-window';

const HOUR_MS = 3_600_000;
const ANALYTICS_WORK_MEM = '64MB';
const MAX_BUCKETS = 2_000;
const BUCKET_UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: HOUR_MS, d: 24 * HOUR_MS };
const BUCKET_UNIT_NAME: Record<string, string> = { s: 'seconds', m: 'minutes', h: 'hours', d: 'days' };

/** Outcomes that are the gateway's or the upstream's failure; a rejected, invalid or abandoned request is not. */
export const ERROR_OUTCOMES = ['upstream_error', 'timeout', 'rate_limited'] as const;

const SUMMARY_COLUMN: Record<SummaryGrouping, string> = {
  variant: 'variant',
  model: 'model',
  policy: 'policy',
  provider: 'provider',
  // A team's key (its id; GET /api/metrics/cost?groupBy=apiKey names it).
  apiKey: 'api_key_id::text',
};

const FIGURES_SQL = `
  count(*)::int AS requests,
  count(*) FILTER (WHERE outcome IN (${ERROR_OUTCOMES.map((o) => `'${o}'`).join(', ')}))::int AS errors,
  count(*) FILTER (WHERE fallback)::int AS fallbacks,
  ${OUTCOMES.map((o) => `count(*) FILTER (WHERE outcome = '${o}')::int AS "outcome_${o}"`).join(',\n  ')},
  avg(latency_ms) AS latency_avg,
  percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms) AS latency_pcts,
  percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY ttft_ms) AS ttft_pcts,
  coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
  coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
  coalesce(sum(cost_usd), 0)::text AS cost_usd,
  count(*) FILTER (WHERE quality_signals IS NOT NULL)::int AS answers,
  ${QUALITY_SIGNALS.map((q) => `count(*) FILTER (WHERE quality_signals & ${QUALITY_BIT[q]} <> 0)::int AS "quality_${q}"`).join(',\n  ')}`;

/** 95% normal quantile: the summaries' intervals are descriptive, not the canary's anytime-valid ones. */
const Z95 = 1.959964;

/** An outcome metric of one summary group: its value (a rate or a mean), units, a 95% interval, cost per outcome. */
export interface OutcomeFigure {
  metric: string;
  builtIn: boolean;
  type: 'binary' | 'numeric';
  unit: 'request' | 'user';
  /** Units: answers (built-in signals), exposed users or requests (defined metrics). */
  n: number;
  /** Σ of the values: signals or conversions counted, revenue summed... */
  outcomes: number;
  /** A rate (binary) or a mean (numeric); null without units. */
  value: number | null;
  interval: [number, number] | null;
  costPerOutcomeUsd: number | null;
}

/**
 * Adds outcome metrics to the summary's groups (the outcomes module registers one, so that metrics
 * depends on nothing of it): per group key, its figures, given the summary's filters and each
 * group's cost.
 */
export type OutcomeFigures = (input: {
  where: { sql: string; params: unknown[] };
  groupBy: SummaryGrouping;
  costByKey: ReadonlyMap<string | null, number>;
}) => Promise<Map<string | null, OutcomeFigure[]>>;

/** A mean (or rate) with its 95% interval from n, Σy and Σy²; binary values make it a Wald interval. */
export function figureOf(
  base: Pick<OutcomeFigure, 'metric' | 'builtIn' | 'type' | 'unit'>,
  n: number,
  sum: number,
  sumSquares: number,
  costUsd: number,
): OutcomeFigure {
  if (n === 0) return { ...base, n, outcomes: 0, value: null, interval: null, costPerOutcomeUsd: null };
  const mean = sum / n;
  const variance = n > 1 ? Math.max(0, (sumSquares - n * mean * mean) / (n - 1)) : 0;
  const half = Z95 * Math.sqrt(variance / n);
  return {
    ...base,
    n,
    outcomes: sum,
    value: mean,
    interval: [mean - half, mean + half],
    costPerOutcomeUsd: sum > 0 ? costUsd / sum : null,
  };
}

type FiguresRow = Record<string, unknown> & {
  requests: number;
  errors: number;
  fallbacks: number;
  latency_avg: number | null;
  latency_pcts: number[] | null;
  ttft_pcts: Array<number | null> | null;
  prompt_tokens: string;
  completion_tokens: string;
  cost_usd: string;
};

/** One variant of a flag over a window: the guardrail's counts. */
export interface VariantWindow {
  /** Every request except those the client abandoned or the provider refused as invalid (they say nothing about the model). */
  requests: number;
  /** Errors, plus requests a fallback model had to answer: the variant's model failed them. */
  failures: number;
  costUsd: number;
}

/** A policy's requests and spend on one variant (null: requests served without a flag variant). */
export interface VariantTraffic {
  policy: string;
  variant: string | null;
  requests: number;
  costUsd: number;
}

const FAILURE_SQL = `outcome IN (${ERROR_OUTCOMES.map((o) => `'${o}'`).join(', ')}) OR (fallback AND outcome = 'ok')`;

/**
 * Reads request_metrics for operators and the canary: every figure is computed by Postgres from the
 * rows themselves (exact percentiles with percentile_cont, exact cost sums on numeric), over a time
 * window so partition pruning and the (flag, variant, at) / (model, at) indexes apply.
 */
@Injectable()
export class MetricsQueryService {
  private readonly outcomeFigures: OutcomeFigures[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /** Registers more outcome metrics for the summary's groups (see OutcomeFigures). */
  addOutcomeFigures(figures: OutcomeFigures): void {
    this.outcomeFigures.push(figures);
  }

  async summary(query: MetricsWindowQueryDto & { groupBy?: SummaryGrouping }): Promise<SummaryDto> {
    const window = parseWindow(query.from, query.to, HOUR_MS, this.clock.now());
    const groupBy = query.groupBy ?? 'model';
    const where = filters(window, query);
    const rows = await this.analytics(
      `SELECT ${SUMMARY_COLUMN[groupBy]} AS key, ${FIGURES_SQL}
         FROM request_metrics WHERE ${where.sql}
        GROUP BY 1 ORDER BY 1 NULLS LAST`,
      where.params,
    );
    const groups = rows.map((row: FiguresRow) => ({ key: row.key as string | null, ...figures(row) }));
    const costByKey = new Map(groups.map((group) => [group.key, group.costUsd]));
    for (const more of this.outcomeFigures) {
      const byKey = await more({ where, groupBy, costByKey });
      for (const group of groups) group.outcomeMetrics.push(...(byKey.get(group.key) ?? []));
    }
    return { ...isoWindow(window), groupBy, groups };
  }

  async timeseries(query: TimeseriesQueryDto): Promise<TimeseriesDto> {
    const window = parseWindow(query.from, query.to, HOUR_MS, this.clock.now());
    const groupBy = query.groupBy ?? 'model';
    const bucket = query.bucket ?? '1m';
    const { amount, unit } = /^(?<amount>\d+)(?<unit>[smhd])$/.exec(bucket)!.groups!;
    const buckets = (window.to.getTime() - window.from.getTime()) / (Number(amount) * BUCKET_UNIT_MS[unit]);
    if (buckets > MAX_BUCKETS) throw new TooManyBuckets(bucket, buckets, MAX_BUCKETS);
    const where = filters(window, query);
    const interval = where.params.push(`${amount} ${BUCKET_UNIT_NAME[unit]}`);
    // Bins start at multiples of their width since the Unix epoch, not at `from`: a window that
    // slides with the clock (no `from`) then puts a past minute in the same bucket at every poll.
    const rows = await this.analytics(
      `SELECT ${SUMMARY_COLUMN[groupBy]} AS key, date_bin($${interval}::interval, at, TIMESTAMPTZ 'epoch') AS t, ${FIGURES_SQL}
         FROM request_metrics WHERE ${where.sql}
        GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2`,
      where.params,
    );
    const series = new Map<string | null, TimeseriesDto['series'][number]>();
    for (const row of rows as Array<FiguresRow & { t: Date }>) {
      const key = row.key as string | null;
      if (!series.has(key)) series.set(key, { key, points: [] });
      series.get(key)!.points.push({ t: row.t.toISOString(), ...figures(row) });
    }
    return { ...isoWindow(window), groupBy, bucket, series: [...series.values()] };
  }

  /**
   * Settings for this transaction only, measured on 10 million rows (bench/metrics.bench.ts):
   * percentiles sort every row of a group, and with the default 4 MB of work_mem a busy hour spills
   * to disk; and the default parallel costs, tuned for short OLTP queries, keep a scan of ~100k rows
   * to one process where splitting it across workers takes about a tenth off the query.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows are typed where they are read
  private analytics(sql: string, params: unknown[]): Promise<any[]> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL work_mem = '${ANALYTICS_WORK_MEM}'`);
      await manager.query('SET LOCAL parallel_setup_cost = 100');
      await manager.query('SET LOCAL parallel_tuple_cost = 0.01');
      return manager.query(sql, params);
    });
  }

  /** Requests and spend per policy and variant over (after, upTo]: the policy map's traffic shares up to now. */
  async variantTraffic(after: Date, upTo: Date): Promise<VariantTraffic[]> {
    const rows: Array<{ policy: string; variant: string | null; requests: number; cost_usd: string }> =
      await this.dataSource.query(
        `SELECT policy, variant, count(*)::int AS requests, coalesce(sum(cost_usd), 0)::text AS cost_usd
           FROM request_metrics WHERE at > $1 AND at <= $2 AND policy IS NOT NULL AND NOT shadow
          GROUP BY 1, 2`,
        [after, upTo],
      );
    return rows.map(({ policy, variant, requests, cost_usd }) => ({
      policy,
      variant,
      requests,
      costUsd: Number(cost_usd),
    }));
  }

  /**
   * One variant's requests, failures and cost over [from, to), through the (flag, variant, at) index.
   * A request a spend budget downgraded is left out: its answer came from another model by the
   * budget's choice, no failure of the variant's.
   */
  async variantWindow(window: { flag: string; variant: string; from: Date; to: Date }): Promise<VariantWindow> {
    const params = [window.flag, window.variant, window.from, window.to];
    const where = `flag = $1 AND variant = $2 AND at >= $3 AND at < $4 AND NOT shadow AND outcome NOT IN ('client_aborted', 'invalid_request') AND budget_action IS DISTINCT FROM 'downgrade'`;
    const [counts] = await this.dataSource.query(
      `SELECT count(*)::int AS requests, count(*) FILTER (WHERE ${FAILURE_SQL})::int AS failures,
              coalesce(sum(cost_usd), 0)::float8 AS cost
         FROM request_metrics WHERE ${where}`,
      params,
    );
    return { requests: counts.requests, failures: counts.failures, costUsd: counts.cost };
  }
}

export function filters(window: Window, query: MetricsWindowQueryDto): { sql: string; params: unknown[] } {
  const params: unknown[] = [window.from, window.to];
  // Shadow calls' rows are a canary's, never a caller's figures.
  const clauses = ['at >= $1', 'at < $2', 'NOT shadow'];
  for (const column of ['flag', 'variant', 'policy', 'model'] as const) {
    const value = query[column];
    if (value !== undefined) clauses.push(`${column} = $${params.push(value)}`);
  }
  return { sql: clauses.join(' AND '), params };
}

function figures(row: FiguresRow): MetricsFiguresDto {
  const [p50, p95, p99] = row.latency_pcts ?? [null, null, null];
  const [ttftP50, ttftP99] = row.ttft_pcts ?? [null, null];
  return {
    requests: row.requests,
    errors: row.errors,
    errorRate: row.requests === 0 ? 0 : row.errors / row.requests,
    fallbacks: row.fallbacks,
    outcomes: Object.fromEntries(
      OUTCOMES.map((o) => [o, row[`outcome_${o}`] as number]),
    ) as unknown as MetricsFiguresDto['outcomes'],
    latencyMs: { avg: row.latency_avg, p50, p95, p99 },
    ttftMs: { p50: ttftP50, p99: ttftP99 },
    tokens: { prompt: Number(row.prompt_tokens), completion: Number(row.completion_tokens) },
    costUsd: Number(row.cost_usd),
    // The built-in signals: binary, so Σy² = Σy.
    outcomeMetrics: QUALITY_SIGNALS.map((signal) => {
      const count = row[`quality_${signal}`] as number;
      return figureOf(
        { metric: signal, builtIn: true, type: 'binary', unit: 'request' },
        row.answers as number,
        count,
        count,
        Number(row.cost_usd),
      );
    }),
  };
}

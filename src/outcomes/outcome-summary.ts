import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  figureOf,
  MetricsQueryService,
  type OutcomeFigure,
  type OutcomeFigures,
} from '../metrics/metrics-query.service';
import { OutcomeMetricsService } from './outcome-metrics.service';

/** At most this many defined metrics in a summary: each is one query. */
const MAX_SUMMARY_METRICS = 20;

/**
 * The defined outcome metrics in /api/metrics/summary, per variant (groupBy=variant): for each
 * non-archived metric, per variant over the summary's rows, the units (exposed users or requests),
 * the outcomes attributed to them within the metric's window, the rate or mean with a 95% interval,
 * and the cost per outcome. Registered with MetricsQueryService, so metrics knows nothing of outcomes.
 */
@Injectable()
export class OutcomeSummary implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: OutcomeMetricsService,
    private readonly queries: MetricsQueryService,
  ) {}

  onModuleInit(): void {
    this.queries.addOutcomeFigures((input) => this.figures(input));
  }

  private async figures({
    where,
    groupBy,
    costByKey,
  }: Parameters<OutcomeFigures>[0]): Promise<Map<string | null, OutcomeFigure[]>> {
    const result = new Map<string | null, OutcomeFigure[]>();
    if (groupBy !== 'variant') return result;
    const defined = (await this.metrics.list())
      .filter((metric) => !metric.builtIn && !metric.archived)
      .slice(0, MAX_SUMMARY_METRICS);
    for (const metric of defined) {
      const params = [...where.params, metric.key, metric.attributionWindowSeconds];
      const key = `$${where.params.length + 1}`;
      const window = `make_interval(secs => $${where.params.length + 2})`;
      const rows: Array<{ key: string | null; n: number; sum: number; sum_squares: number }> =
        metric.unit === 'user'
          ? await this.dataSource.query(
              `WITH exposures AS (
                 SELECT variant, user_key, min(at) AS first_at FROM request_metrics
                  WHERE ${where.sql} AND user_key IS NOT NULL GROUP BY 1, 2
               ), valued AS (
                 SELECT x.variant, x.user_key, ${metric.type === 'binary' ? 'coalesce(max(e.value), 0)' : 'coalesce(sum(e.value), 0)'} AS y
                   FROM exposures x
                   LEFT JOIN outcome_events e ON e.user_key = x.user_key AND e.metric_key = ${key}
                    AND e.occurred_at >= x.first_at AND e.occurred_at <= x.first_at + ${window}
                  GROUP BY 1, 2
               )
               SELECT variant AS key, count(*)::int AS n, coalesce(sum(y), 0)::float8 AS sum, coalesce(sum(y * y), 0)::float8 AS sum_squares
                 FROM valued GROUP BY 1`,
              params,
            )
          : await this.dataSource.query(
              `WITH valued AS (
                 SELECT r.variant, r.id, ${metric.type === 'binary' ? 'coalesce(max(e.value), 0)' : 'avg(e.value)'} AS y
                   FROM (SELECT id, variant, request_id, at FROM request_metrics WHERE ${where.sql}) r
                   LEFT JOIN outcome_events e ON e.request_id = r.request_id AND e.metric_key = ${key}
                    AND e.occurred_at <= r.at + ${window}
                  GROUP BY 1, 2
               )
               SELECT variant AS key, count(*)::int AS n, coalesce(sum(y), 0)::float8 AS sum, coalesce(sum(y * y), 0)::float8 AS sum_squares
                 FROM valued WHERE y IS NOT NULL GROUP BY 1`,
              params,
            );
      for (const [group, cost] of costByKey) {
        const row = rows.find((candidate) => candidate.key === group);
        const figure = figureOf(
          { metric: metric.key, builtIn: false, type: metric.type, unit: metric.unit },
          row?.n ?? 0,
          row?.sum ?? 0,
          row?.sum_squares ?? 0,
          cost,
        );
        result.set(group, [...(result.get(group) ?? []), figure]);
      }
    }
    return result;
  }
}

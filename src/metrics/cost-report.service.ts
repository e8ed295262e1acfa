import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { AccessService } from '../access/access.service';
import { CatalogService } from '../catalog/catalog.service';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import type { CostGrouping, CostQueryDto } from './dto/metrics-query.dto';
import type { CostDimensionsDto, CostFiguresDto, CostReportDto, SpenderDto } from './dto/metrics-result.dto';
import { UnknownReferenceModel } from './metrics-query.errors';
import { isoWindow, parseWindow } from './metrics-window';

const DAY_MS = 24 * 3_600_000;
const COST_COLUMN: Record<CostGrouping, string> = { model: 'model', policy: 'policy', apiKey: 'api_key_id' };

/** Which rows a spend figure covers: a window and, optionally, one key, policy, model or flag arm. */
export interface SpendFilter {
  from: Date;
  to: Date;
  apiKey?: string;
  policy?: string;
  model?: string;
  flag?: string;
  variant?: string;
}

/**
 * Requests a provider may have billed without saying what: an answer without usage, a stream that
 * broke, a client that left after the call went out. The row has no cost; budgets charged each its
 * worst case (completion-pipeline.ts, settlementOf). Counted so a report's costUsd is not taken for all.
 */
const UNPRICED = `cost_usd IS NULL AND attempts > 0 AND (outcome IN ('ok', 'client_aborted') OR error_type = 'upstream_stream_error')`;

interface CostRow {
  requests: number;
  unpriced_requests: number;
  prompt_tokens: string;
  completion_tokens: string;
  cost_usd: string;
  reference_cost_usd: string;
}

/**
 * Spend from request_metrics: the cost report per model, policy or team (API key) — or per team and
 * policy at once — with what the same tokens would have cost on the reference model, and the top
 * spenders under a budget. Sums are exact (numeric); keys are shown with their names.
 */
@Injectable()
export class CostReportService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly catalog: CatalogService,
    private readonly access: AccessService,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
    private readonly clock: Clock,
  ) {}

  async cost(query: CostQueryDto): Promise<CostReportDto> {
    const window = parseWindow(query.from, query.to, DAY_MS, this.clock.now());
    const groupings = (query.groupBy ?? 'model').split(',') as CostGrouping[];
    if (new Set(groupings).size !== groupings.length) groupings.splice(0, groupings.length, ...new Set(groupings));
    const referenceModel = query.referenceModel ?? this.config.referenceModel;
    const reference = this.catalog.findModel(referenceModel);
    if (!reference) {
      const known = this.catalog.listModels().map((model) => model.id);
      throw new UnknownReferenceModel(referenceModel, known);
    }
    const { inputPer1M, outputPer1M } = reference.pricing;
    const where = whereOf({ ...window, apiKey: query.apiKey, policy: query.policy }, 2);
    const columns = groupings.map((grouping, index) => `${COST_COLUMN[grouping]}::text AS k${index}`);
    const positions = groupings.map((_, index) => index + 1);
    const rows = (await this.dataSource.query(
      `SELECT *, ((prompt_tokens * $1::numeric + completion_tokens * $2::numeric) / 1000000)::text AS reference_cost_usd
         FROM (SELECT ${columns.join(', ')}, count(*)::int AS requests,
                      count(*) FILTER (WHERE ${UNPRICED})::int AS unpriced_requests,
                      coalesce(sum(prompt_tokens), 0)::numeric AS prompt_tokens,
                      coalesce(sum(completion_tokens), 0)::numeric AS completion_tokens,
                      coalesce(sum(cost_usd), 0) AS cost_usd
                 FROM request_metrics WHERE ${where.sql}
                GROUP BY ${positions.join(', ')}) AS grouped
        ORDER BY ${positions.map((position) => `${position} NULLS LAST`).join(', ')}`,
      [String(inputPer1M), String(outputPer1M), ...where.params],
    )) as Array<CostRow & Record<string, string | null>>;
    const names = groupings.includes('apiKey') ? this.access.keyNames() : undefined;
    const groups = rows.map((row) => {
      const dimensions: CostDimensionsDto = {};
      groupings.forEach((grouping, index) => (dimensions[grouping] = row[`k${index}`]));
      if (names) dimensions.apiKeyName = dimensions.apiKey ? (names.get(dimensions.apiKey) ?? null) : null;
      const values = groupings.map((_, index) => row[`k${index}`]);
      const key = groupings.length === 1 ? values[0] : values.map((value) => value ?? '').join(',');
      return { key, dimensions, ...costFigures(row) };
    });
    const total = costFigures({
      requests: rows.reduce((sum, row) => sum + row.requests, 0),
      unpriced_requests: rows.reduce((sum, row) => sum + row.unpriced_requests, 0),
      prompt_tokens: String(rows.reduce((sum, row) => sum + BigInt(row.prompt_tokens), 0n)),
      completion_tokens: String(rows.reduce((sum, row) => sum + BigInt(row.completion_tokens), 0n)),
      cost_usd: sumDecimals(rows.map((row) => row.cost_usd)),
      reference_cost_usd: sumDecimals(rows.map((row) => row.reference_cost_usd)),
    });
    return { ...isoWindow(window), groupBy: groupings.join(','), referenceModel, total, groups };
  }

  /** The biggest spenders among the rows of `filter`, by `groupBy`, most expensive first. */
  async topSpenders(filter: SpendFilter, groupBy: CostGrouping, limit: number): Promise<SpenderDto[]> {
    const where = whereOf(filter, 0);
    const rows: Array<{ key: string | null; requests: number; cost: string }> = await this.dataSource.query(
      `SELECT ${COST_COLUMN[groupBy]}::text AS key, count(*)::int AS requests, coalesce(sum(cost_usd), 0)::text AS cost
         FROM request_metrics WHERE ${where.sql}
        GROUP BY 1 ORDER BY sum(cost_usd) DESC NULLS LAST, 1 LIMIT ${Math.max(1, Math.floor(limit))}`,
      where.params,
    );
    const names = groupBy === 'apiKey' ? this.access.keyNames() : undefined;
    return rows.map((row) => ({
      key: row.key,
      name: names && row.key ? (names.get(row.key) ?? null) : null,
      requests: row.requests,
      costUsd: Number(row.cost),
    }));
  }
}

/** The WHERE of a spend query; its parameters are numbered after the `offset` the caller uses first. */
function whereOf(filter: SpendFilter, offset: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [filter.from, filter.to];
  // Shadow calls' rows are a canary's: no caller spent them.
  const clauses = [`at >= $${offset + 1}`, `at < $${offset + 2}`, 'NOT shadow'];
  const columns: Array<[keyof SpendFilter, string]> = [
    ['apiKey', 'api_key_id'],
    ['policy', 'policy'],
    ['model', 'model'],
    ['flag', 'flag'],
    ['variant', 'variant'],
  ];
  for (const [field, column] of columns) {
    const value = filter[field];
    if (value !== undefined) clauses.push(`${column} = $${offset + params.push(value)}`);
  }
  return { sql: clauses.join(' AND '), params };
}

function costFigures(row: CostRow): CostFiguresDto {
  const cost = Number(row.cost_usd);
  const reference = Number(row.reference_cost_usd);
  return {
    requests: row.requests,
    unpricedRequests: row.unpriced_requests,
    tokens: { prompt: Number(row.prompt_tokens), completion: Number(row.completion_tokens) },
    costUsd: cost,
    referenceCostUsd: reference,
    savingUsd: Number((reference - cost).toFixed(12)),
    savingRatio: reference === 0 ? null : (reference - cost) / reference,
  };
}

/** Sums numeric strings exactly (12 decimals at most, as stored). */
function sumDecimals(values: string[]): string {
  const SCALE = 18;
  const scaled = values.reduce((sum, value) => {
    const [whole, fraction = ''] = value.split('.');
    return sum + BigInt(whole + fraction.padEnd(SCALE, '0').slice(0, SCALE));
  }, 0n);
  const digits = scaled.toString().padStart(SCALE + 1, '0');
  return `${digits.slice(0, -SCALE)}.${digits.slice(-SCALE)}`;
}

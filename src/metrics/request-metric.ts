import type { Outcome } from './entities/request-metric.entity';

/** What the gateway reports about one finished request; the writer turns it into a row. */
export interface RequestMetric {
  id: string;
  at: Date;
  requestId: string;
  policy: string | null;
  flag: string | null;
  variant: string | null;
  provider: string | null;
  model: string | null;
  firstModel: string | null;
  outcome: Outcome;
  httpStatus: number;
  errorType: string | null;
  latencyMs: number;
  /** The gateway's own part of `latencyMs` (all but the upstream calls); for Prometheus, not stored. */
  overheadMs: number;
  upstreamLatencyMs: number | null;
  ttftMs: number | null;
  promptTokens: number | null;
  completionTokens: number | null;
  /** Exact decimal string (see cost.ts). */
  costUsd: string | null;
  attempts: number;
  fallback: boolean;
  stream: boolean;
  apiKeyId: string | null;
}

/** Column name and Postgres array type of each field, in insert order. */
export const METRIC_COLUMNS: ReadonlyArray<readonly [keyof RequestMetric, string, string]> = [
  ['id', 'id', 'uuid'],
  ['at', 'at', 'timestamptz'],
  ['requestId', 'request_id', 'text'],
  ['policy', 'policy', 'text'],
  ['flag', 'flag', 'text'],
  ['variant', 'variant', 'text'],
  ['provider', 'provider', 'text'],
  ['model', 'model', 'text'],
  ['firstModel', 'first_model', 'text'],
  ['outcome', 'outcome', 'text'],
  ['httpStatus', 'http_status', 'smallint'],
  ['errorType', 'error_type', 'text'],
  ['latencyMs', 'latency_ms', 'float8'],
  ['upstreamLatencyMs', 'upstream_latency_ms', 'float8'],
  ['ttftMs', 'ttft_ms', 'float8'],
  ['promptTokens', 'prompt_tokens', 'int4'],
  ['completionTokens', 'completion_tokens', 'int4'],
  ['costUsd', 'cost_usd', 'numeric'],
  ['attempts', 'attempts', 'smallint'],
  ['fallback', 'fallback', 'bool'],
  ['stream', 'stream', 'bool'],
  ['apiKeyId', 'api_key_id', 'uuid'],
];

/**
 * One INSERT for a whole batch: one array parameter per column, unnested server-side. Unlike a
 * VALUES list it has a fixed text (prepared once) and no 65 535-parameter ceiling.
 */
export const INSERT_METRICS_SQL =
  `INSERT INTO request_metrics (${METRIC_COLUMNS.map(([, column]) => column).join(', ')}) ` +
  `SELECT * FROM unnest(${METRIC_COLUMNS.map(([, , type], index) => `$${index + 1}::${type}[]`).join(', ')})`;

export function insertParameters(rows: readonly RequestMetric[]): unknown[][] {
  return METRIC_COLUMNS.map(([field]) => rows.map((row) => (field === 'at' ? row.at.toISOString() : row[field])));
}

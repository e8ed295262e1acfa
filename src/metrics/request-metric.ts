import { insertJsonRowsSql, type JsonRowColumn } from '../database/json-rows';
import type { Outcome } from './entities/request-metric.entity';

/** What the gateway reports about one finished request; the writer turns it into a row. */
export interface RequestMetric {
  id: string;
  at: Date;
  requestId: string;
  policy: string | null;
  flag: string | null;
  /** The flag's version that routed it (Route.flagVersion). */
  flagVersion: number | null;
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
  /**
   * The caller's user id (x-user-id or the body's `user`), null without one. Held in memory only:
   * the writer stores its keyed hash, user_key (see user-key.ts), never the id itself.
   */
  userId: string | null;
  /** The budget that refused, downgraded or rerouted the request, and what it did. */
  budgetId: string | null;
  budgetAction: string | null;
  /**
   * The answer's quality signals as a bitmask (quality-signals.ts); null when no complete answer
   * reached the client (errors, broken streams, a client that left).
   */
  qualitySignals: number | null;
  /** A shadow call's row (a canary's candidate asked the same request after the user's answer); absent: false. */
  shadow?: boolean;
  /** A shadow row's primary request id. */
  shadowOf?: string | null;
}

/** Column, Postgres type and (for a value the row leaves out) its default, in the order of `storedValues`. */
const METRIC_COLUMNS: readonly JsonRowColumn[] = [
  ['id', 'uuid'],
  ['at', 'timestamptz'],
  ['request_id', 'text'],
  ['policy', 'text'],
  ['flag', 'text'],
  ['variant', 'text'],
  ['provider', 'text'],
  ['model', 'text'],
  ['first_model', 'text'],
  ['outcome', 'text'],
  ['http_status', 'smallint'],
  ['error_type', 'text'],
  ['latency_ms', 'float8'],
  ['upstream_latency_ms', 'float8'],
  ['ttft_ms', 'float8'],
  ['prompt_tokens', 'int4'],
  ['completion_tokens', 'int4'],
  ['cost_usd', 'numeric'],
  ['attempts', 'smallint'],
  ['fallback', 'bool'],
  ['stream', 'bool'],
  ['api_key_id', 'uuid'],
  ['user_key', 'int8'],
  ['budget_id', 'uuid'],
  ['budget_action', 'text'],
  ['quality_signals', 'smallint'],
  ['shadow', 'bool', 'false'],
  ['shadow_of', 'text'],
  ['flag_version', 'int4'],
];

/**
 * One INSERT for a whole batch (json-rows.ts). A batch sent again is stored once: a connection lost
 * after Postgres committed it but before the answer came back makes the writer retry it.
 */
export const INSERT_METRICS_SQL = insertJsonRowsSql(
  'request_metrics',
  METRIC_COLUMNS,
  'ON CONFLICT (id, at) DO NOTHING',
);

/**
 * A row's values in METRIC_COLUMNS' order, with its user id replaced by the key `userKeyOf` makes
 * of it (user-key.ts; the raw user id is never stored). Fields beyond the columns (overheadMs) are
 * Prometheus's only.
 */
export function storedValues(row: RequestMetric, userKeyOf: (userId: string | null) => string | null): unknown[] {
  return [
    row.id,
    row.at.getTime(),
    row.requestId,
    row.policy,
    row.flag,
    row.variant,
    row.provider,
    row.model,
    row.firstModel,
    row.outcome,
    row.httpStatus,
    row.errorType,
    row.latencyMs,
    row.upstreamLatencyMs,
    row.ttftMs,
    row.promptTokens,
    row.completionTokens,
    row.costUsd,
    row.attempts,
    row.fallback,
    row.stream,
    row.apiKeyId,
    userKeyOf(row.userId),
    row.budgetId,
    row.budgetAction,
    row.qualitySignals,
    row.shadow ?? null,
    row.shadowOf ?? null,
    row.flagVersion,
  ];
}

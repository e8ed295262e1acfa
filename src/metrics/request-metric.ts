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

/** A row's field as written: every field of RequestMetric, with the user id replaced by its key. */
type StoredField = Exclude<keyof RequestMetric, 'userId'> | 'userKey';

/** Field, column name and Postgres type of each stored field, in insert order. */
export const METRIC_COLUMNS: ReadonlyArray<readonly [StoredField, string, string, string?]> = [
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
  ['userKey', 'user_key', 'int8'],
  ['budgetId', 'budget_id', 'uuid'],
  ['budgetAction', 'budget_action', 'text'],
  ['qualitySignals', 'quality_signals', 'smallint'],
  ['shadow', 'shadow', 'bool', 'false'],
  ['shadowOf', 'shadow_of', 'text'],
];

/**
 * One INSERT for a whole batch, the rows sent as one JSON array that Postgres unpacks
 * (json_to_recordset). A fixed text (prepared once), no 65 535-parameter ceiling, and on the
 * gateway's side a single JSON.stringify of the queued rows: about half the CPU per row of one
 * array parameter per column, which pg escapes element by element (docs/benchmarks.md). Fields a
 * row has beyond these columns (e.g. overheadMs) are ignored.
 */
export const INSERT_METRICS_SQL =
  `INSERT INTO request_metrics (${METRIC_COLUMNS.map(([, column]) => column).join(', ')}) ` +
  `SELECT ${METRIC_COLUMNS.map(([field, , , absent]) => (absent ? `coalesce("${field}", ${absent})` : `"${field}"`)).join(', ')} ` +
  `FROM json_to_recordset($1::json) AS row(${METRIC_COLUMNS.map(([field, , type]) => `"${field}" ${type}`).join(', ')})`;

/**
 * The INSERT's one parameter: the rows as a JSON array, each with its user id replaced by the key
 * `userKeyOf` makes of it (user-key.ts; the raw user id is never stored).
 */
export function insertParameters(
  rows: readonly RequestMetric[],
  userKeyOf: (userId: string | null) => string | null,
): [string] {
  return [JSON.stringify(rows.map((row) => ({ ...row, userId: undefined, userKey: userKeyOf(row.userId) })))];
}

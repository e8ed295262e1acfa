import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * How a request ended. `rejected`: the gateway refused it (key, limits, body, unknown model, context
 * guard). `invalid_request`: the provider refused it as invalid (400/404/413/422), which says nothing
 * about the model, so canaries, the guardrail and the breaker do not count it.
 */
export const OUTCOMES = [
  'ok',
  'upstream_error',
  'timeout',
  'rate_limited',
  'rejected',
  'client_aborted',
  'invalid_request',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * One row per request through /v1/chat/completions. The table is partitioned by day on `at`
 * (see the migration); the indexes are declared on the partitioned parent, so every partition
 * has them, and TypeORM only reads rows through raw SQL (the batched writer, the summary queries).
 */
@Entity({ name: 'request_metrics' })
@Check('request_metrics_outcome_check', `outcome IN (${OUTCOMES.map((o) => `'${o}'`).join(', ')})`)
@Index('request_metrics_flag_variant_at_idx', ['flag', 'variant', 'at'])
@Index('request_metrics_model_at_idx', ['model', 'at'])
@Index('request_metrics_api_key_at_idx', ['apiKeyId', 'at'])
@Index('request_metrics_policy_at_idx', ['policy', 'at'])
@Index('request_metrics_at_idx', ['at'])
@Index('request_metrics_request_id_idx', ['requestId'])
// Users' exposures, by which outcome ingestion places a user's outcome (metrics/exposure-lookup.ts).
@Index('request_metrics_user_exposure_idx', ['userKey', 'at'], { where: 'user_key IS NOT NULL AND flag IS NOT NULL' })
export class RequestMetricEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  /** When the request arrived; the partition key. */
  @PrimaryColumn({ type: 'timestamptz' })
  at: Date;

  @Column({ name: 'request_id', type: 'text' })
  requestId: string;

  @Column({ type: 'text', nullable: true })
  policy: string | null;

  @Column({ type: 'text', nullable: true })
  flag: string | null;

  @Column({ type: 'text', nullable: true })
  variant: string | null;

  @Column({ type: 'text', nullable: true })
  provider: string | null;

  /** The model that finally answered (or the last one tried). */
  @Column({ type: 'text', nullable: true })
  model: string | null;

  /** The model routing chose first; differs from `model` when a fallback answered. */
  @Column({ name: 'first_model', type: 'text', nullable: true })
  firstModel: string | null;

  @Column({ type: 'text' })
  outcome: Outcome;

  @Column({ name: 'http_status', type: 'smallint' })
  httpStatus: number;

  @Column({ name: 'error_type', type: 'text', nullable: true })
  errorType: string | null;

  @Column({ name: 'latency_ms', type: 'double precision' })
  latencyMs: number;

  @Column({ name: 'upstream_latency_ms', type: 'double precision', nullable: true })
  upstreamLatencyMs: number | null;

  @Column({ name: 'ttft_ms', type: 'double precision', nullable: true })
  ttftMs: number | null;

  @Column({ name: 'prompt_tokens', type: 'integer', nullable: true })
  promptTokens: number | null;

  @Column({ name: 'completion_tokens', type: 'integer', nullable: true })
  completionTokens: number | null;

  /** Exact decimal (pg returns numeric as a string): sums of many tiny costs must not drift. */
  @Column({ name: 'cost_usd', type: 'numeric', precision: 20, scale: 12, nullable: true })
  costUsd: string | null;

  @Column({ type: 'smallint' })
  attempts: number;

  @Column({ type: 'boolean' })
  fallback: boolean;

  @Column({ type: 'boolean' })
  stream: boolean;

  @Column({ name: 'api_key_id', type: 'uuid', nullable: true })
  apiKeyId: string | null;

  /**
   * A keyed hash of the caller's user id (never the id): a user's requests share it, so canaries
   * estimate variances by user. Null for a request without a user id.
   */
  @Column({ name: 'user_key', type: 'bigint', nullable: true })
  userKey: string | null;

  /** The spend budget that acted on the request (refused it, downgraded it, sent it to the control). */
  @Column({ name: 'budget_id', type: 'uuid', nullable: true })
  budgetId: string | null;

  /** What that budget did: reject, downgrade or shadow_only. */
  @Column({ name: 'budget_action', type: 'text', nullable: true })
  budgetAction: string | null;

  /**
   * The answer's built-in quality signals as a bitmask (metrics/quality-signals.ts: 1 empty answer,
   * 2 truncated, 4 invalid JSON, 8 JSON schema violation, 16 malformed tool call, 32 refusal); null
   * when no complete answer reached the client.
   */
  @Column({ name: 'quality_signals', type: 'smallint', nullable: true })
  qualitySignals: number | null;

  /**
   * A shadow call's row (a canary's candidate asked the same request after the user's answer): never
   * in a caller-facing report, a limit, a budget or a live stage's statistics.
   */
  @Column({ type: 'boolean', default: false })
  shadow: boolean;

  /** A shadow row's primary request (its request_id); null on every other row. */
  @Column({ name: 'shadow_of', type: 'text', nullable: true })
  shadowOf: string | null;

  /**
   * The flag's version that routed the request (null without a flag): a canary stage counts only
   * rows routed by its own weights or later ones (canaries.stage_flag_version).
   */
  @Column({ name: 'flag_version', type: 'integer', nullable: true })
  flagVersion: number | null;
}

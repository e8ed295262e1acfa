import { Injectable } from '@nestjs/common';
import type { ShadowSummary } from '@switchyard/stats';
import { DataSource } from 'typeorm';
import { insertJsonRowsSql, jsonRowsParameter } from '../database/json-rows';
import { ShadowPairEntity } from './entities/shadow-pair.entity';

export type ShadowPairRow = Omit<ShadowPairEntity, 'at'> & { at: Date };

/** Each stored field, its column and type, in the order the INSERT's rows give them. */
const COLUMNS: ReadonlyArray<readonly [keyof ShadowPairRow, string, string]> = [
  ['id', 'id', 'uuid'],
  ['canaryId', 'canary_id', 'uuid'],
  ['at', 'at', 'timestamptz'],
  ['primaryRequestId', 'primary_request_id', 'text'],
  ['shadowRequestId', 'shadow_request_id', 'text'],
  ['controlVariant', 'control_variant', 'text'],
  ['candidateVariant', 'candidate_variant', 'text'],
  ['controlModel', 'control_model', 'text'],
  ['candidateModel', 'candidate_model', 'text'],
  ['controlOutcome', 'control_outcome', 'text'],
  ['candidateOutcome', 'candidate_outcome', 'text'],
  ['controlLatencyMs', 'control_latency_ms', 'float8'],
  ['candidateLatencyMs', 'candidate_latency_ms', 'float8'],
  ['controlTtftMs', 'control_ttft_ms', 'float8'],
  ['candidateTtftMs', 'candidate_ttft_ms', 'float8'],
  ['controlPromptTokens', 'control_prompt_tokens', 'int4'],
  ['controlCompletionTokens', 'control_completion_tokens', 'int4'],
  ['candidatePromptTokens', 'candidate_prompt_tokens', 'int4'],
  ['candidateCompletionTokens', 'candidate_completion_tokens', 'int4'],
  ['controlCostUsd', 'control_cost_usd', 'numeric'],
  ['candidateCostUsd', 'candidate_cost_usd', 'numeric'],
  ['controlQuality', 'control_quality', 'int2'],
  ['candidateQuality', 'candidate_quality', 'int2'],
  ['exactAgreement', 'exact_agreement', 'bool'],
  ['toolsAgreement', 'tools_agreement', 'bool'],
  ['lengthRatio', 'length_ratio', 'float8'],
  ['controlTools', 'control_tools', 'jsonb'],
  ['candidateTools', 'candidate_tools', 'jsonb'],
  ['disagree', 'disagree', 'bool'],
  ['controlAnswer', 'control_answer', 'text'],
  ['candidateAnswer', 'candidate_answer', 'text'],
];

/** A pair's values in COLUMNS' order; dates as epoch milliseconds. */
function storedValues(row: ShadowPairRow): unknown[] {
  return COLUMNS.map(([field]) => (field === 'at' ? row.at.getTime() : row[field]));
}

/**
 * One INSERT per batch (json-rows.ts). A batch sent again (the writer's retry after a connection lost
 * once Postgres had committed) is stored once.
 */
const INSERT_SQL = insertJsonRowsSql(
  'shadow_pairs',
  COLUMNS.map(([, column, type]) => [column, type]),
  'ON CONFLICT (id) DO NOTHING',
);

/** A pair both sides of which answered: latency and cost are compared on these. */
const BOTH_OK = `control_outcome = 'ok' AND candidate_outcome = 'ok'`;
/** A side is in error unless it answered; it shows a quality signal when it answered with one. */
const CONTROL_ERROR = `control_outcome <> 'ok'`;
const CANDIDATE_ERROR = `candidate_outcome <> 'ok'`;
const CONTROL_SIGNAL = `coalesce(control_quality, 0) <> 0`;
const CANDIDATE_SIGNAL = `coalesce(candidate_quality, 0) <> 0`;
const AGREES = `coalesce(exact_agreement, tools_agreement)`;

/** Example pair ids per failing signal, for the alert's evidence. */
export type ShadowExamples = Record<'errors' | 'quality' | 'latency' | 'cost' | 'agreement', string[]>;

/** Every query on `shadow_pairs`. */
@Injectable()
export class ShadowPairsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(rows: readonly ShadowPairRow[]): Promise<void> {
    if (rows.length > 0) await this.dataSource.query(INSERT_SQL, jsonRowsParameter(rows, storedValues));
  }

  /** The aggregates the shadow verdict needs, over the canary's pairs in [from, to). */
  async summary(canaryId: string, from: Date, to: Date): Promise<ShadowSummary> {
    const [row]: Array<Record<string, string | number | null>> = await this.dataSource.query(
      `SELECT count(*)::int AS pairs,
              count(*) FILTER (WHERE ${CANDIDATE_ERROR} AND NOT ${CONTROL_ERROR})::int AS error_candidate_only,
              count(*) FILTER (WHERE ${CONTROL_ERROR} AND NOT ${CANDIDATE_ERROR})::int AS error_control_only,
              count(*) FILTER (WHERE ${BOTH_OK})::int AS both_ok,
              count(*) FILTER (WHERE ${BOTH_OK} AND ${CANDIDATE_SIGNAL} AND NOT ${CONTROL_SIGNAL})::int AS quality_candidate_only,
              count(*) FILTER (WHERE ${BOTH_OK} AND ${CONTROL_SIGNAL} AND NOT ${CANDIDATE_SIGNAL})::int AS quality_control_only,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY candidate_latency_ms / nullif(control_latency_ms, 0))
                FILTER (WHERE ${BOTH_OK}) AS latency_ratio,
              sum(candidate_cost_usd) FILTER (WHERE ${BOTH_OK}) AS candidate_cost,
              sum(control_cost_usd) FILTER (WHERE ${BOTH_OK}) AS control_cost,
              count(*) FILTER (WHERE ${AGREES} IS NOT NULL)::int AS agreement_judged,
              count(*) FILTER (WHERE ${AGREES})::int AS agreement_agreed
         FROM shadow_pairs WHERE canary_id = $1 AND at >= $2 AND at < $3`,
      [canaryId, from, to],
    );
    const num = (value: string | number | null) => (value === null ? null : Number(value));
    const pairs = Number(row.pairs);
    const bothOk = Number(row.both_ok);
    const controlCost = num(row.control_cost);
    const candidateCost = num(row.candidate_cost);
    return {
      pairs,
      errors: {
        candidateOnly: Number(row.error_candidate_only),
        controlOnly: Number(row.error_control_only),
        pairs,
      },
      quality: {
        candidateOnly: Number(row.quality_candidate_only),
        controlOnly: Number(row.quality_control_only),
        pairs: bothOk,
      },
      latencyRatio: num(row.latency_ratio),
      costRatio: controlCost && candidateCost !== null ? candidateCost / controlCost : null,
      agreement: { judged: Number(row.agreement_judged), agreed: Number(row.agreement_agreed) },
    };
  }

  /** A few pair ids showing each signal against the candidate, newest first. */
  async examples(canaryId: string, from: Date, to: Date, limit = 3): Promise<ShadowExamples> {
    const conditions: Record<keyof ShadowExamples, string> = {
      errors: `${CANDIDATE_ERROR} AND NOT ${CONTROL_ERROR}`,
      quality: `${BOTH_OK} AND ${CANDIDATE_SIGNAL} AND NOT ${CONTROL_SIGNAL}`,
      latency: `${BOTH_OK} AND candidate_latency_ms > control_latency_ms`,
      cost: `${BOTH_OK} AND candidate_cost_usd > control_cost_usd`,
      agreement: `${AGREES} = false`,
    };
    const entries = await Promise.all(
      Object.entries(conditions).map(async ([signal, condition]) => {
        const rows: Array<{ id: string }> = await this.dataSource.query(
          `SELECT id FROM shadow_pairs WHERE canary_id = $1 AND at >= $2 AND at < $3 AND ${condition}
            ORDER BY at DESC LIMIT $4`,
          [canaryId, from, to, limit],
        );
        return [signal, rows.map((row) => row.id)] as const;
      }),
    );
    return Object.fromEntries(entries) as ShadowExamples;
  }

  /** The canary's pairs, newest first; only disagreeing ones when asked. */
  async list(canaryId: string, disagree: boolean, limit: number): Promise<ShadowPairEntity[]> {
    return this.dataSource
      .getRepository(ShadowPairEntity)
      .createQueryBuilder('pair')
      .where('pair.canaryId = :canaryId', { canaryId })
      .andWhere(disagree ? 'pair.disagree' : 'true')
      .orderBy('pair.at', 'DESC')
      .addOrderBy('pair.id', 'DESC')
      .limit(limit)
      .getMany();
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

type Json = Record<string, unknown>;

/** The analysis every canary gets by default from this engine on (libs/stats canary-analysis.ts), frozen here. */
const GUARDRAILS = {
  errorRate: { absolute: 0.01 },
  abandonmentRate: { absolute: 0.01 },
  invalidRequestRate: { absolute: 0.01 },
  latencyP50: { relative: 0.2 },
  latencyP95: { relative: 0.2 },
  latencyP99: { relative: 0.2 },
  ttftP50: { relative: 0.2 },
  ttftP95: { relative: 0.2 },
  costPerRequest: null as unknown,
};

/**
 * The canary decision engine: relative guardrails judged with confidence sequences, variances by
 * user, a sample-ratio check.
 *
 * - request_metrics.user_key: a keyed hash of the caller's user id (never the id), so that a
 *   user's requests are one cluster and each arm's users can be counted.
 * - canaries.analysis in the new shape. A canary stored before keeps what it meant where the new
 *   engine has it: its significance becomes alpha, its minRequests stays, absolute limits it set
 *   away from the old defaults (2%, 2000 ms) become hard gates, a cost ratio becomes the cost
 *   guardrail; the old analysis is kept under `legacy`. Its stored verdicts stay as they were.
 * - canaries.failed_checks goes: one look beyond a margin is enough for a confidence sequence,
 *   so nothing counts failed checks any more.
 */
export class CanaryDecisionEngine1764800000000 implements MigrationInterface {
  name = 'CanaryDecisionEngine1764800000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE request_metrics ADD COLUMN user_key bigint NULL`);
    await runner.query(`ALTER TABLE canaries DROP COLUMN failed_checks`);
    const rows: Array<{ id: string; analysis: Json }> = await runner.query(`SELECT id, analysis FROM canaries`);
    for (const row of rows) {
      await runner.query(`UPDATE canaries SET analysis = $2::jsonb WHERE id = $1`, [
        row.id,
        JSON.stringify(fromLegacy(row.analysis)),
      ]);
    }
  }

  async down(runner: QueryRunner): Promise<void> {
    const rows: Array<{ id: string; analysis: Json }> = await runner.query(`SELECT id, analysis FROM canaries`);
    for (const row of rows) {
      await runner.query(`UPDATE canaries SET analysis = $2::jsonb WHERE id = $1`, [
        row.id,
        JSON.stringify(toLegacy(row.analysis)),
      ]);
    }
    await runner.query(`ALTER TABLE canaries ADD COLUMN failed_checks integer NOT NULL DEFAULT 0`);
    await runner.query(`ALTER TABLE request_metrics DROP COLUMN user_key`);
  }
}

function fromLegacy(old: Json): Json {
  if ('guardrails' in old) return old;
  const number = (value: unknown): number | null =>
    typeof value === 'number' && Number.isFinite(value) ? value : null;
  const significance = number(old.significance);
  const maxErrorRate = number(old.maxErrorRate);
  const maxP99 = number(old.maxP99LatencyMs);
  const costRatio = number(old.maxCostRatioToControl);
  const maxCost = number(old.maxCostPerRequestUsd);
  return {
    alpha: significance !== null && significance > 0 && significance <= 0.5 ? significance : 0.05,
    minRequests: Number.isInteger(old.minRequests) && (old.minRequests as number) >= 1 ? old.minRequests : 200,
    guardrails: {
      ...GUARDRAILS,
      costPerRequest: costRatio !== null && costRatio > 1 ? { relative: costRatio - 1 } : null,
    },
    hardGates: {
      maxErrorRate: maxErrorRate !== null && maxErrorRate > 0 && maxErrorRate !== 0.02 ? maxErrorRate : null,
      maxP99LatencyMs: maxP99 !== null && maxP99 > 0 && maxP99 !== 2000 ? maxP99 : null,
      maxCostPerRequestUsd: maxCost !== null && maxCost > 0 ? maxCost : null,
    },
    srmPValue: 0.001,
    legacy: old,
  };
}

function toLegacy(analysis: Json): Json {
  if (analysis.legacy && typeof analysis.legacy === 'object') return analysis.legacy as Json;
  const gates = (analysis.hardGates ?? {}) as Json;
  return {
    minRequests: analysis.minRequests ?? 200,
    maxErrorRate: gates.maxErrorRate ?? 0.02,
    maxP99LatencyMs: gates.maxP99LatencyMs ?? 2000,
    stageEnd: { maxErrorRate: 0.01, maxAvgLatencyMs: 500 },
    compareToControl: true,
    maxCostPerRequestUsd: gates.maxCostPerRequestUsd ?? null,
    maxCostRatioToControl: null,
    failureThreshold: 2,
    severeFactor: 2,
    significance: analysis.alpha ?? 0.05,
  };
}

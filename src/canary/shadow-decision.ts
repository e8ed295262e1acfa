import type { ShadowVerdict } from '@switchyard/stats';
import type { CanaryChange, CanaryDecision, CanarySnapshot, ShadowPlan } from './canary.types';

/*
 * The shadow stage's decisions as pure functions, like canary-decision.ts for the live stages: the
 * verdict on the pairs (libs/stats judgeShadow) and the stage's timing decide; the executor applies.
 * Pass at the end of the stage → the live stages begin (stage 1's weight on the flag); fail → rolled
 * back before any user saw the candidate, with the failing signals and example pairs as evidence;
 * too few pairs → wait while the stage and its extensions last, then pause. A spent cap ends the
 * stage at once: it is judged on what it has, and cannot be extended.
 */

export interface ShadowTiming {
  elapsedMs: number;
  durationMs: number;
  /** The stage's time is up, or its spend cap was reached. */
  atStageEnd: boolean;
  /** No more waiting: every extension used, or the spend cap reached. */
  overdue: boolean;
  spendExhausted: boolean;
}

export function shadowTiming(
  plan: ShadowPlan,
  maxStageExtensions: number,
  startedAt: Date,
  now: Date,
  spendExhausted: boolean,
): ShadowTiming {
  const durationMs = plan.durationSeconds * 1000;
  const elapsedMs = now.getTime() - startedAt.getTime();
  const atStageEnd = spendExhausted || elapsedMs >= durationMs;
  return {
    elapsedMs,
    durationMs,
    atStageEnd,
    overdue: spendExhausted || elapsedMs >= durationMs * (1 + maxStageExtensions),
    spendExhausted,
  };
}

/** The shadow verdict as stored on the canary (lastVerdict) and in its `verdict` event. */
export interface StoredShadowVerdict extends ShadowVerdict {
  kind: 'shadow';
  at: string;
  slotStart: string;
  decision: CanaryDecision;
  atStageEnd: boolean;
  spendExhausted: boolean;
  spentUsd: string | null;
  window: { from: string; to: string };
  /** A few pair ids per failing signal (GET /api/canaries/:id/shadow-pairs lists them). */
  examples: Partial<Record<string, string[]>>;
  sentence: string;
}

export function decideShadow(outcome: ShadowVerdict['outcome'], timing: ShadowTiming): CanaryDecision {
  switch (outcome) {
    case 'fail':
      return 'rollback';
    case 'insufficient_data':
      return timing.overdue ? 'pause' : 'wait';
    case 'pass':
      return timing.atStageEnd ? 'advance' : 'wait';
  }
}

export function shadowSentence(verdict: ShadowVerdict, decision: CanaryDecision, timing: ShadowTiming): string {
  const cap = timing.spendExhausted ? ' (its spend cap was reached)' : '';
  const elapsed = `${Math.round(timing.elapsedMs / 1000)}s of ${timing.durationMs / 1000}s`;
  switch (decision) {
    case 'rollback':
      return `rolled back in the shadow stage, before any user saw the candidate, on ${verdict.pairs} pairs: ${verdict.reasons.join('; ')}`;
    case 'advance':
      return `passed the shadow stage${cap} on ${verdict.pairs} pairs after ${elapsed}: the live stages begin`;
    case 'pause':
      // The cap is not reset by a resume: only a new canary with a larger cap gets more pairs.
      return timing.spendExhausted
        ? `paused in the shadow stage (its spend cap was reached): ${verdict.reasons.join('; ') || 'not enough pairs'} after ${elapsed}; a resume gets no more pairs: abort, and create it again with a larger shadow.maxSpendUsd`
        : `paused in the shadow stage: ${verdict.reasons.join('; ') || 'not enough pairs'} after ${elapsed} and every extension`;
    default:
      return verdict.outcome === 'insufficient_data'
        ? `shadow stage waits for pairs: ${verdict.reasons.join('; ')} (${elapsed})`
        : `shadow stage shows no harm on ${verdict.pairs} pairs so far (${elapsed})`;
  }
}

/** What a shadow decision changes; none for wait. */
export function shadowChange(
  canary: Pick<CanarySnapshot, 'id' | 'flagKey' | 'variant' | 'stages'>,
  verdict: StoredShadowVerdict,
  startedAt: Date,
): CanaryChange | undefined {
  const { id, flagKey, stages } = canary;
  const failing = verdict.signals.filter((signal) => signal.status === 'harm').map((signal) => signal.signal);
  const evidence = { verdict, failingSignals: failing, examplePairs: verdict.examples };
  switch (verdict.decision) {
    case 'rollback':
      return {
        state: 'rolled_back',
        weight: 0,
        event: { type: 'rolled_back', message: verdict.sentence, evidence },
        alert: {
          type: 'canary.rolled_back',
          dedupKey: `canary:${id}:rolled_back`,
          message: `Canary on ${flagKey} ${verdict.sentence} (failing: ${failing.join(', ')}; example pairs: ${failing
            .flatMap((signal) => verdict.examples[signal] ?? [])
            .slice(0, 3)
            .join(', ')})`,
          evidence,
        },
      };
    case 'advance':
      return {
        phase: 'live',
        stageIndex: 0,
        weight: stages[0].percentage,
        event: { type: 'shadow_passed', message: verdict.sentence, evidence },
        alert: {
          type: 'canary.stage_advanced',
          dedupKey: `canary:${id}:shadow_passed`,
          message: `Canary on ${flagKey} ${verdict.sentence}: stage 1 (${stages[0].percentage}%)`,
          evidence,
        },
      };
    case 'pause':
      return {
        state: 'paused',
        event: { type: 'paused', message: verdict.sentence, evidence },
        alert: {
          type: 'canary.paused',
          dedupKey: `canary:${id}:paused:shadow:${startedAt.toISOString()}`,
          message: `Canary on ${flagKey} ${verdict.sentence}`,
          evidence,
        },
      };
    default:
      return undefined;
  }
}

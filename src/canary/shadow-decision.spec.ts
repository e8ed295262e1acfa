import type { ShadowVerdict } from '@switchyard/stats';
import { decideShadow, shadowChange, shadowSentence, shadowTiming, type StoredShadowVerdict } from './shadow-decision';

const PLAN = {
  percentage: 10,
  durationSeconds: 600,
  maxSpendUsd: 20,
  maxConcurrency: 16,
  minPairs: 50,
  maxLatencyRatio: 1.5,
  maxCostRatio: 1.5,
  minAgreementRate: null,
};
const START = new Date('2026-12-01T00:00:00Z');
const at = (seconds: number) => new Date(START.getTime() + seconds * 1000);

describe('shadow decisions', () => {
  it('waits during the stage, advances a pass at its end, pauses without pairs once extensions are used', () => {
    const during = shadowTiming(PLAN, 2, START, at(300), false);
    expect(decideShadow('pass', during)).toBe('wait');
    expect(decideShadow('insufficient_data', during)).toBe('wait');
    const end = shadowTiming(PLAN, 2, START, at(600), false);
    expect(decideShadow('pass', end)).toBe('advance');
    expect(decideShadow('insufficient_data', end)).toBe('wait');
    expect(decideShadow('insufficient_data', shadowTiming(PLAN, 2, START, at(1800), false))).toBe('pause');
  });

  it('ends the stage at once when the spend cap is reached, judged on what it has', () => {
    const capped = shadowTiming(PLAN, 2, START, at(10), true);
    expect(capped).toMatchObject({ atStageEnd: true, overdue: true });
    expect(decideShadow('pass', capped)).toBe('advance');
    expect(decideShadow('insufficient_data', capped)).toBe('pause');
    // No extension ran, and a resume would not get more pairs: the sentence says what will.
    const few = { pairs: 8, reasons: ['8 pairs of the 50 needed'] } as ShadowVerdict;
    expect(shadowSentence(few, 'pause', capped)).toBe(
      'paused in the shadow stage (its spend cap was reached): 8 pairs of the 50 needed after 10s of 600s; a resume gets no more pairs: abort, and create it again with a larger shadow.maxSpendUsd',
    );
  });

  it('rolls back at any look, with the failing signals and example pairs as evidence', () => {
    expect(decideShadow('fail', shadowTiming(PLAN, 2, START, at(5), false))).toBe('rollback');
    const verdict = {
      kind: 'shadow',
      outcome: 'fail',
      decision: 'rollback',
      pairs: 80,
      reasons: ['quality-signal rate: ...'],
      signals: [{ signal: 'quality', status: 'harm', estimate: 0.5, interval: null, limit: 0.01, sentence: '' }],
      examples: { quality: ['p1', 'p2'] },
      sentence: 'rolled back in the shadow stage',
    } as unknown as StoredShadowVerdict & ShadowVerdict;
    const change = shadowChange(
      { id: 'c1', flagKey: 'fraud-model', variant: 'treatment', stages: [{ percentage: 5, durationSeconds: 60 }] },
      verdict,
      START,
    );
    expect(change).toMatchObject({ state: 'rolled_back', weight: 0, alert: { type: 'canary.rolled_back' } });
    expect(change?.alert?.message).toContain('failing: quality; example pairs: p1, p2');
    expect(change?.alert?.evidence).toMatchObject({
      failingSignals: ['quality'],
      examplePairs: { quality: ['p1', 'p2'] },
    });
  });

  it("advances into stage 1 at stage 1's weight", () => {
    const change = shadowChange(
      { id: 'c1', flagKey: 'fraud-model', variant: 'treatment', stages: [{ percentage: 5, durationSeconds: 60 }] },
      { decision: 'advance', signals: [], examples: {}, sentence: 'passed' } as unknown as StoredShadowVerdict,
      START,
    );
    expect(change).toMatchObject({ phase: 'live', stageIndex: 0, weight: 5, event: { type: 'shadow_passed' } });
  });
});

import { DEFAULT_CANARY_ANALYSIS } from '@switchyard/stats';
import { budgetPause, manualChange } from './canary-actions';
import { CanaryStateConflict } from './canary.errors';
import type { CanarySnapshot, CanaryState } from './canary.types';

function canary(state: CanaryState, stageIndex = 1): CanarySnapshot {
  return {
    id: 'c1',
    flagKey: 'chat-model',
    variant: 'treatment',
    state,
    stages: [
      { percentage: 5, durationSeconds: 60 },
      { percentage: 15, durationSeconds: 60 },
      { percentage: 100, durationSeconds: 0 },
    ],
    stageIndex,
    stageStartedAt: new Date(0),
    analysis: DEFAULT_CANARY_ANALYSIS,
    maxStageExtensions: 2,
    shadow: null,
    phase: 'live',
  };
}

describe('manualChange', () => {
  it('starts a canary with a shadow stage at weight 0: users stay on the control', () => {
    const shadow = {
      percentage: 10,
      durationSeconds: 600,
      maxSpendUsd: 20,
      maxConcurrency: 16,
      minPairs: 50,
      maxLatencyRatio: 1.5,
      maxCostRatio: 1.5,
      minAgreementRate: null,
    };
    const pending = { ...canary('pending', 0), shadow, phase: 'shadow' as const };
    expect(manualChange(pending, 'start', 'key:1 (ops)', undefined, 'a1')).toMatchObject({
      state: 'running',
      stageIndex: 0,
      weight: 0,
      event: {
        type: 'started',
        message:
          "started by key:1 (ops): shadow stage, 10% of users' requests copied to the candidate for 600s, before stage 1 of 3",
      },
    });
  });

  it('starts a pending canary at stage 1 with its weight', () => {
    expect(manualChange(canary('pending', 0), 'start', 'key:1 (ops)', undefined, 'a1')).toMatchObject({
      state: 'running',
      stageIndex: 0,
      weight: 5,
      event: { type: 'started', message: 'started by key:1 (ops): stage 1 of 3 at 5%' },
      alert: { type: 'canary.started', dedupKey: 'canary:c1:start:0:a1' },
    });
  });

  it('resumes with a fresh window, promotes to 100, aborts and rolls back to 0', () => {
    expect(manualChange(canary('paused'), 'resume', 'ops', 'fixed', 'a')).toMatchObject({
      state: 'running',
      restartStage: true,
      event: { message: 'resumed by ops: fixed: stage 2 (15%) gets a fresh window' },
      alert: { type: 'canary.resumed' },
    });
    expect(manualChange(canary('running'), 'promote', 'ops', undefined, 'a')).toMatchObject({ weight: 100 });
    expect(manualChange(canary('running'), 'abort', 'ops', undefined, 'a')).toMatchObject({
      state: 'aborted',
      weight: 0,
    });
    expect(manualChange(canary('paused'), 'rollback', 'ops', undefined, 'a')).toMatchObject({
      state: 'rolled_back',
      weight: 0,
    });
    // Never started: no weight was ever given, so none is taken away.
    expect(manualChange(canary('pending', 0), 'abort', 'ops', undefined, 'a').weight).toBeUndefined();
  });

  it('gives each action its own alert key, so a repeated pause is still told', () => {
    const first = manualChange(canary('running'), 'pause', 'ops', undefined, 'a');
    const second = manualChange(canary('running'), 'pause', 'ops', undefined, 'b');
    expect(first.alert?.dedupKey).not.toBe(second.alert?.dedupKey);
  });

  it('refuses an action the state does not allow, naming the state and where it applies', () => {
    expect(() => manualChange(canary('pending', 0), 'resume', 'ops', undefined, 'a')).toThrow(
      new CanaryStateConflict('c1', 'pending', 'resume', ['paused']),
    );
    expect(() => manualChange(canary('promoted'), 'abort', 'ops', undefined, 'a')).toThrow(
      'canary c1 is promoted; abort applies only to a canary that is pending or running or paused',
    );
  });
});

describe('budgetPause', () => {
  it('pauses with the treatment at 0% (shadow_only), or, in a shadow stage, with no user to take away', () => {
    expect(budgetPause(canary('running'), 'budget:b1', 'it ran out', 'a', 'shadow_only')).toMatchObject({
      state: 'paused',
      weight: 0,
      event: { type: 'paused', message: 'pause by budget:b1: it ran out; treatment at 0% until resumed' },
      alert: { type: 'canary.paused' },
    });
    const shadow = { ...canary('running', 0), phase: 'shadow' as const };
    expect(budgetPause(shadow, 'budget:b1', 'it ran out', 'a', 'shadow_only').weight).toBeUndefined();
  });

  it.each(['reject', 'downgrade'] as const)('pauses and leaves the weights to a %s budget, saying so', (action) => {
    const change = budgetPause(canary('running'), 'budget:b1', 'it ran out', 'a', action);
    expect(change).toMatchObject({ state: 'paused', alert: { type: 'canary.paused' } });
    expect(change.weight).toBeUndefined();
    expect(change.event.message).toBe(
      `pause by budget:b1: it ran out; the flag's weights stay as they are: the budget's ${action} decides the treatment's requests`,
    );
  });
});

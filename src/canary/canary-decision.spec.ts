import { DEFAULT_CANARY_ANALYSIS, judgeWindow, type ArmWindow, type WindowVerdict } from '@switchyard/stats';
import {
  analysisForStage,
  decideTick,
  pauseOnRefusal,
  slotStartOf,
  stageTiming,
  verdictMessage,
  type TickInput,
} from './canary-decision';
import type { CanarySnapshot } from './canary.types';

const STARTED = new Date('2026-11-24T10:00:00.000Z');
const seconds = (n: number) => new Date(STARTED.getTime() + n * 1000);

function canary(overrides: Partial<CanarySnapshot> = {}): CanarySnapshot {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    flagKey: 'chat-model',
    variant: 'treatment',
    state: 'running',
    stages: [
      { percentage: 5, durationSeconds: 60 },
      { percentage: 50, durationSeconds: 60 },
      { percentage: 100, durationSeconds: 0 },
    ],
    stageIndex: 0,
    stageStartedAt: STARTED,
    analysis: { ...DEFAULT_CANARY_ANALYSIS, stageEnd: { ...DEFAULT_CANARY_ANALYSIS.stageEnd } },
    maxStageExtensions: 2,
    failedChecks: 0,
    ...overrides,
  };
}

function verdict(outcome: WindowVerdict['outcome'], extra: Partial<WindowVerdict> = {}): WindowVerdict {
  const arm = { requests: 0, failures: 0, failureRate: null, latencyMs: null, costPerRequestUsd: null };
  return {
    outcome,
    severe: false,
    reasons: outcome === 'pass' ? [] : [`${outcome} because`],
    checks: [],
    evidence: { treatment: arm, control: arm, errorRateTest: null, latencyTest: null },
    ...extra,
  };
}

function tick(snapshot: CanarySnapshot, windowVerdict: WindowVerdict, at: Date) {
  const input: TickInput = {
    canary: snapshot,
    timing: stageTiming(snapshot, snapshot.stageStartedAt!, at),
    verdict: windowVerdict,
    at,
    slotStart: slotStartOf(at.getTime(), 10_000),
    window: { from: snapshot.stageStartedAt!, to: at },
  };
  return decideTick(input);
}

describe('stageTiming', () => {
  it('says how far into the stage a time is, when the stage is up, and how long it may wait for data', () => {
    expect(stageTiming(canary(), STARTED, seconds(59.999))).toMatchObject({
      index: 0,
      isLast: false,
      durationMs: 60_000,
      elapsedMs: 59_999,
      atStageEnd: false,
      limitMs: 180_000,
    });
    expect(stageTiming(canary(), STARTED, seconds(60)).atStageEnd).toBe(true);
    expect(stageTiming(canary({ stageIndex: 2 }), STARTED, seconds(1)).isLast).toBe(true);
  });
});

describe('slotStartOf', () => {
  it('puts every time of one tick period in the same slot, and the next period in the next', () => {
    const base = Date.parse('2026-11-24T10:00:00.000Z');
    expect(slotStartOf(base, 1000).getTime()).toBe(base);
    expect(slotStartOf(base + 999, 1000).getTime()).toBe(base);
    expect(slotStartOf(base + 1000, 1000).getTime()).toBe(base + 1000);
    // The incident: two replicas whose timers were ~500 ms apart acted 501 ms apart, inside one period.
    expect(slotStartOf(base + 10, 1000)).toEqual(slotStartOf(base + 511, 1000));
  });
});

describe('analysisForStage', () => {
  it('judges the treatment on its own at 100%, where no control traffic is left', () => {
    const analysis = canary().analysis;
    expect(analysisForStage(analysis, { percentage: 50, durationSeconds: 60 })).toBe(analysis);
    expect(analysisForStage(analysis, { percentage: 100, durationSeconds: 60 })).toMatchObject({
      compareToControl: false,
      maxCostRatioToControl: null,
    });
  });
});

describe('decideTick', () => {
  it('waits on a pass before the stage is up, then advances at its end with the next weight and an alert', () => {
    const early = tick(canary(), verdict('pass'), seconds(30));
    expect(early.decision).toBe('wait');
    expect(early.change).toBeUndefined();
    const advanced = tick(canary(), verdict('pass'), seconds(60));
    expect(advanced.decision).toBe('advance');
    expect(advanced.change).toMatchObject({
      stageIndex: 1,
      weight: 50,
      event: { type: 'stage_advanced', message: 'stage 1/3 (5%) healthy; advanced to stage 2/3 (50%)' },
      alert: { type: 'canary.stage_advanced', dedupKey: `canary:${canary().id}:stage:1` },
    });
  });

  it('promotes instead of advancing into a final stage of 0 seconds, and at the end of a final stage that lasts', () => {
    const beforeFinal = tick(canary({ stageIndex: 1 }), verdict('pass'), seconds(60));
    expect(beforeFinal.decision).toBe('promote');
    expect(beforeFinal.change).toMatchObject({ state: 'promoted', stageIndex: 2, weight: 100 });
    const lasting = canary({
      stages: [
        { percentage: 50, durationSeconds: 60 },
        { percentage: 100, durationSeconds: 60 },
      ],
      stageIndex: 1,
    });
    expect(tick(lasting, verdict('pass'), seconds(60)).decision).toBe('promote');
  });

  it('counts failed checks and rolls back at the threshold, or at once when severe', () => {
    const first = tick(canary(), verdict('fail'), seconds(10));
    expect(first).toMatchObject({ decision: 'hold', failedChecks: 1 });
    expect([first.change, first.notice]).toEqual([undefined, undefined]);
    const second = tick(canary({ failedChecks: 1 }), verdict('fail'), seconds(20));
    expect(second).toMatchObject({ decision: 'rollback', failedChecks: 2 });
    expect(second.change).toMatchObject({
      state: 'rolled_back',
      weight: 0,
      event: { message: 'rolled back in stage 1/3 (5%) after 2 failed checks: fail because' },
      alert: { type: 'canary.rolled_back', dedupKey: `canary:${canary().id}:rolled_back` },
    });
    const severe = tick(canary(), verdict('fail', { severe: true }), seconds(10));
    expect(severe).toMatchObject({ decision: 'rollback', failedChecks: 1 });
    expect(severe.change?.event.message).toMatch(/at once \(severe\)/);
  });

  it('holds, without counting a failed check, when the control is unwell too; says so once per stage', () => {
    const held = tick(canary({ failedChecks: 1 }), verdict('hold'), seconds(10));
    expect(held).toMatchObject({ decision: 'hold', failedChecks: 1 });
    expect(held.change).toBeUndefined();
    expect(held.notice).toMatchObject({
      alert: { type: 'canary.held', dedupKey: `canary:${canary().id}:held:0:${STARTED.toISOString()}` },
      event: { type: 'held', message: 'holding in stage 1/3 (5%): hold because' },
    });
  });

  it('waits for data through the extensions, then pauses', () => {
    const quiet = canary({ maxStageExtensions: 1 });
    expect(tick(quiet, verdict('insufficient_data'), seconds(60)).decision).toBe('wait');
    expect(tick(quiet, verdict('insufficient_data'), seconds(119.999)).decision).toBe('wait');
    const paused = tick(quiet, verdict('insufficient_data'), seconds(120));
    expect(paused.decision).toBe('pause');
    expect(paused.change).toMatchObject({
      state: 'paused',
      event: { type: 'paused' },
      alert: { type: 'canary.paused', dedupKey: `canary:${quiet.id}:paused:0:${STARTED.toISOString()}` },
    });
  });

  it('stores the verdict with its time, tick period, stage, window and what the judge saw', () => {
    const judged = judgeWindow({
      treatment: arm(300, 0),
      control: arm(300, 0),
      analysis: canary().analysis,
      atStageEnd: true,
    });
    const at = seconds(61.5);
    const { verdict: stored } = tick(canary(), judged, at);
    expect(stored).toMatchObject({
      at: at.toISOString(),
      slotStart: seconds(60).toISOString(),
      stage: 0,
      decision: 'advance',
      outcome: 'pass',
      atStageEnd: true,
      window: { from: STARTED.toISOString(), to: at.toISOString() },
      evidence: { treatment: { requests: 300, failures: 0 }, control: { requests: 300 } },
    });
    expect(verdictMessage(stored)).toBe('pass -> advance: all 6 checks passed');
  });
});

describe('pauseOnRefusal', () => {
  it('pauses with an alert naming what the decision could not do and why', () => {
    const { verdict: stored } = tick(canary(), verdict('pass'), seconds(60));
    const change = pauseOnRefusal(canary(), stored, 'rollout adds up to 110%, more than 100');
    expect(change).toMatchObject({
      state: 'paused',
      alert: { type: 'canary.paused', evidence: { decision: 'advance' } },
    });
    expect(change.weight).toBeUndefined();
    expect(change.event.message).toBe(
      'could not advance (pass): the flag refused the weight change: rollout adds up to 110%, more than 100; paused until the flag is fixed',
    );
  });
});

function arm(requests: number, failures: number): ArmWindow {
  return { requests, failures, latenciesMs: Array.from({ length: requests }, (_, i) => 100 + (i % 50)), costUsd: 0 };
}

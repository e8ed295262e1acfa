import { DEFAULT_CANARY_ANALYSIS, type MetricResult, type StageOutcome, type StageVerdict } from '@switchyard/stats';
import {
  decide,
  decideTick,
  judgedStageCount,
  previousLookIn,
  pauseOnRefusal,
  slotStartOf,
  stageTiming,
  stageTimingAt,
  verdictMessage,
  type TickInput,
} from './canary-decision';
import type { CanaryDecision, CanarySnapshot } from './canary.types';

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
      { percentage: 15, durationSeconds: 60 },
      { percentage: 100, durationSeconds: 0 },
    ],
    stageIndex: 0,
    stageStartedAt: STARTED,
    analysis: DEFAULT_CANARY_ANALYSIS,
    maxStageExtensions: 2,
    shadow: null,
    phase: 'live',
    ...overrides,
  };
}

const errorRateHarm: MetricResult = {
  metric: 'errorRate',
  label: 'error rate',
  kind: 'rate',
  direction: 'lower_is_better',
  against: 'control',
  scale: 'difference',
  treatment: { estimate: 0.029, n: 1903 },
  control: { estimate: 0.005, n: 10811 },
  effect: 0.024,
  interval: [0.011, 0.037],
  margin: 0.01,
  marginType: 'absolute',
  alpha: 0.0015625,
  pValue: 0.0001,
  status: 'harm',
  controlDegraded: false,
};

/** A stage too small to tell: +1.8 pp is past the +1 pp margin, but the interval spans both sides. */
const errorRateBeyond: MetricResult = {
  ...errorRateHarm,
  treatment: { estimate: 0.023, n: 120 },
  control: { estimate: 0.005, n: 2300 },
  effect: 0.018,
  interval: [-0.009, 0.045],
  pValue: 0.2,
  status: 'inconclusive',
};

const p99Within: MetricResult = {
  ...errorRateHarm,
  metric: 'latencyP99',
  label: 'p99 latency',
  kind: 'quantile',
  scale: 'ratio',
  treatment: { estimate: 1450, n: 1880 },
  control: { estimate: 1432, n: 10700 },
  effect: 1.0126,
  interval: [0.93, 1.1],
  margin: 1.2,
  marginType: 'relative',
  pValue: 1,
  status: 'within_margin',
};

function verdict(outcome: StageOutcome, metrics: MetricResult[] = [p99Within]): StageVerdict {
  return {
    outcome,
    reasons:
      outcome === 'insufficient_data' ? ['treatment has 40 requests in the stage, fewer than the 200 needed'] : [],
    metrics,
    srm: {
      checked: true,
      expectedShare: 0.15,
      units: { treatment: 1500, control: 8500 },
      requests: { treatment: 1903, control: 10811 },
      pValue: 1,
      threshold: 0.001,
      mismatch: false,
    },
    degradation: [],
    alpha: { canary: 0.05, perComparison: 0.0015625, stages: 4, comparisons: 8 },
    n: { treatment: { requests: 1903, users: 1500 }, control: { requests: 10811, users: 8500 } },
    intrinsicTime: 3.2,
    plannedRequests: 50_000,
  };
}

function tick(snapshot: CanarySnapshot, stageVerdict: StageVerdict, at: Date) {
  const input: TickInput = {
    canary: snapshot,
    timing: stageTiming(snapshot, snapshot.stageStartedAt!, at),
    verdict: stageVerdict,
    at,
    slotStart: slotStartOf(at.getTime(), 10_000),
    window: { from: snapshot.stageStartedAt!, to: at },
  };
  return decideTick(input);
}

describe('stageTiming', () => {
  it('says how far into the stage a time is, when the stage is up, and how long it may hold or wait', () => {
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
    expect(slotStartOf(base + 10, 1000)).toEqual(slotStartOf(base + 511, 1000));
  });
});

describe('judgedStageCount', () => {
  it('counts the stages with a duration: the canary alpha is split over them', () => {
    expect(judgedStageCount(canary().stages)).toBe(2);
    expect(judgedStageCount([{ percentage: 100, durationSeconds: 0 }])).toBe(1);
  });
});

describe('decide', () => {
  const at = (s: number, snapshot = canary()) => stageTiming(snapshot, STARTED, seconds(s));

  it('rolls back on the first verdict that shows harm: a confidence sequence needs no repeats', () => {
    expect(decide(canary(), at(1), verdict('fail'))).toBe('rollback');
  });

  it('pauses on a sample-ratio mismatch, at any time', () => {
    expect(decide(canary(), at(1), verdict('srm'))).toBe('pause');
  });

  it('advances when the time is up and no harm is shown, promotes into a final 0-second stage', () => {
    expect(decide(canary(), at(59), verdict('pass'))).toBe('wait');
    expect(decide(canary(), at(60), verdict('pass'))).toBe('advance');
    expect(decide(canary({ stageIndex: 1 }), at(60, canary({ stageIndex: 1 })), verdict('pass'))).toBe('promote');
    const lasting = canary({
      stages: [
        { percentage: 50, durationSeconds: 60 },
        { percentage: 100, durationSeconds: 60 },
      ],
      stageIndex: 1,
    });
    expect(decide(lasting, at(60, lasting), verdict('pass'))).toBe('promote');
  });

  it('holds while the control is unwell, and pauses — never rolls back — at its hold limit', () => {
    expect(decide(canary(), at(10), verdict('hold'))).toBe('hold');
    // A minute's stage with two extensions may wait 3 minutes, but holds through an incident for 30.
    expect(decide(canary(), at(180), verdict('hold'))).toBe('hold');
    expect(decide(canary(), at(1799), verdict('hold'))).toBe('hold');
    expect(decide(canary(), at(1800), verdict('hold'))).toBe('pause');
    const hours = canary({ stages: [{ percentage: 5, durationSeconds: 3600 }, ...canary().stages.slice(1)] });
    expect(decide(hours, at(3 * 3600 - 1, hours), verdict('hold'))).toBe('hold');
    expect(decide(hours, at(3 * 3600, hours), verdict('hold'))).toBe('pause');
    // After a long hold the stage's own limit is past: the first pass decides.
    expect(decide(canary(), at(900), verdict('pass'))).toBe('advance');
    expect(decide(canary(), at(900), verdict('insufficient_data'))).toBe('pause');
  });

  it('does not promote while a guardrail estimate is past its margin unproven: extends, judges on, then pauses', () => {
    const last = canary({ stageIndex: 1 });
    const atLast = (s: number) => at(s, last);
    const beyond = verdict('pass', [errorRateBeyond, p99Within]);
    expect(decide(last, atLast(59), beyond)).toBe('wait');
    expect(decide(last, atLast(60), beyond)).toBe('extend');
    expect(decide(last, atLast(179), beyond)).toBe('extend');
    expect(decide(last, atLast(180), beyond)).toBe('pause');
    expect(decide(last, atLast(120), verdict('pass'))).toBe('promote');
    // An advance brings a larger sample: the estimate is judged again there.
    expect(decide(canary(), at(60), beyond)).toBe('advance');
  });

  it('judges an extended stage for harm at every look, its estimates only at the end of each extension', () => {
    const last = canary({ stageIndex: 1 });
    const after = (s: number, previous: { s: number; decision: CanaryDecision }) =>
      stageTiming(last, STARTED, seconds(s), { at: seconds(previous.s), decision: previous.decision });
    const extendedAt60 = { s: 60, decision: 'extend' as const };
    // Back within its margin in the middle of the first extension: not yet.
    expect(decide(last, after(70, extendedAt60), verdict('pass'))).toBe('extend');
    expect(decide(last, after(119, { s: 110, decision: 'extend' }), verdict('pass'))).toBe('extend');
    expect(decide(last, after(75, extendedAt60), verdict('fail', [errorRateHarm]))).toBe('rollback');
    // The first look past the extension's end judges the estimate: within, a promotion; past, extended again.
    expect(decide(last, after(120, { s: 110, decision: 'extend' }), verdict('pass'))).toBe('promote');
    const beyond = verdict('pass', [errorRateBeyond]);
    expect(decide(last, after(120, { s: 110, decision: 'extend' }), beyond)).toBe('extend');
    expect(decide(last, after(170, { s: 120, decision: 'extend' }), verdict('pass'))).toBe('extend');
    expect(decide(last, after(180, { s: 170, decision: 'extend' }), beyond)).toBe('pause');
    expect(decide(last, after(180, { s: 170, decision: 'extend' }), verdict('pass'))).toBe('promote');
    // A hold says nothing of the estimate: the look after it judges it.
    expect(decide(last, after(100, { s: 90, decision: 'hold' }), verdict('pass'))).toBe('promote');
  });

  it('takes the previous look from the stored verdict only if it was judged in the running stage', () => {
    const last = {
      ...canary({ stageIndex: 1 }),
      lastVerdict: {
        at: seconds(60.004).toISOString(),
        slotStart: seconds(60).toISOString(),
        stage: 1,
        decision: 'extend' as const,
      },
    };
    // Its tick period's start: the executor's timing counts in periods.
    expect(previousLookIn(last, STARTED)).toEqual({ at: seconds(60), decision: 'extend' });
    expect(previousLookIn({ ...last, stageIndex: 2 }, STARTED)).toBeNull();
    // Resumed after a pause: the stage restarted after that look.
    expect(previousLookIn(last, seconds(61))).toBeNull();
    expect(previousLookIn({ ...last, lastVerdict: null }, STARTED)).toBeNull();
  });

  it('counts a stage in tick periods: started 7 ms into one, it ends at the period 60 s later', () => {
    const first = { ...canary(), lastVerdict: null };
    const startedLate = new Date(STARTED.getTime() + 7);
    // The tick of the stage's end ran 2 ms into its period: 59.995 s after the stage's stamp.
    expect(stageTiming(first, startedLate, seconds(60.002)).atStageEnd).toBe(false);
    const timing = stageTimingAt(first, startedLate, seconds(60), 10_000);
    expect(timing).toMatchObject({ elapsedMs: 60_000, atStageEnd: true });
  });

  it('does not call a stage healthy when it advances with an estimate past its margin', () => {
    const advanced = tick(canary(), verdict('pass', [errorRateBeyond, p99Within]), seconds(60));
    expect(advanced.decision).toBe('advance');
    expect(advanced.verdict.sentence).toBe(
      'stage 1 (5%) showed no harm after 60 s, but error rate +1.8 pp [-0.9, +4.5] vs +1 pp is past its margin, unproven at n = 1,903 / 10,811; advanced to stage 2 (15%) to judge on more requests',
    );
  });

  it('promotes when an estimate is past its margin only on the good side, or past a limit the control breaks too', () => {
    const last = canary({ stageIndex: 1 });
    const better = { ...errorRateBeyond, effect: -0.018, interval: [-0.04, 0.004] as [number, number] };
    expect(decide(last, at(60, last), verdict('pass', [better]))).toBe('promote');
    const conversionUp = {
      ...errorRateBeyond,
      direction: 'higher_is_better' as const,
      scale: 'ratio' as const,
      effect: 1.05,
      interval: [0.9, 1.2] as [number, number],
      margin: 0.98,
    };
    expect(decide(last, at(60, last), verdict('pass', [conversionUp]))).toBe('promote');
    expect(decide(last, at(60, last), verdict('pass', [{ ...conversionUp, effect: 0.95 }]))).toBe('extend');
    // A hard gate's limit: the treatment's estimate past it extends, unless the control is past it too.
    const gate = { ...errorRateBeyond, against: 'limit' as const, marginType: 'limit' as const };
    expect(decide(last, at(60, last), verdict('pass', [gate]))).toBe('extend');
    const shared = { ...gate, control: { estimate: 0.012, n: 10_811 } };
    expect(decide(last, at(60, last), verdict('pass', [shared]))).toBe('promote');
    expect(tick(last, verdict('pass', [gate]), seconds(180)).verdict.sentence).toMatch(
      /^paused in stage 2 \(15%\): still past a limit after 2 extensions \(3\.0 min in the stage\): error rate 1\.8% .* vs 1%, neither/,
    );
    expect(tick(last, verdict('pass', [gate]), seconds(60)).verdict.sentence).toMatch(
      /^extended stage 2 \(15%\) after 60 s .*: error rate .* vs 1% is past its limit, neither harm nor safety shown yet/,
    );
  });

  it('waits for data through the extensions, then pauses', () => {
    const quiet = canary({ maxStageExtensions: 1 });
    expect(decide(quiet, at(60, quiet), verdict('insufficient_data'))).toBe('wait');
    expect(decide(quiet, at(119.999, quiet), verdict('insufficient_data'))).toBe('wait');
    expect(decide(quiet, at(120, quiet), verdict('insufficient_data'))).toBe('pause');
  });
});

describe('decideTick', () => {
  it('rolls back with the verdict in one sentence with its numbers, in the event and the alert', () => {
    const second = canary({ stageIndex: 1 });
    const decided = tick(second, verdict('fail', [errorRateHarm, p99Within]), seconds(30));
    expect(decided.decision).toBe('rollback');
    expect(decided.verdict.sentence).toBe(
      'rolled back in stage 2 (15%): error rate +2.4 pp [+1.1, +3.7] > margin +1 pp at n = 1,903 / 10,811',
    );
    expect(decided.change).toMatchObject({
      state: 'rolled_back',
      weight: 0,
      event: { type: 'rolled_back', message: decided.verdict.sentence },
      alert: { type: 'canary.rolled_back', dedupKey: `canary:${second.id}:rolled_back` },
    });
  });

  it('advances at the stage end with the next weight, an alert, and the metric closest to its margin', () => {
    const decided = tick(canary(), verdict('pass'), seconds(60));
    expect(decided.change).toMatchObject({
      stageIndex: 1,
      weight: 15,
      event: { type: 'stage_advanced' },
      alert: { type: 'canary.stage_advanced', dedupKey: `canary:${canary().id}:stage:1` },
    });
    expect(decided.verdict.sentence).toBe(
      'stage 1 (5%) healthy after 60 s: no guardrail worse than its margin (closest: p99 latency ×1.01 [×0.93, ×1.10] within ×1.2) at n = 1,903 / 10,811; advanced to stage 2 (15%)',
    );
  });

  it('holds with a notice said once per stage, and changes nothing', () => {
    const held = tick(canary(), verdict('hold', [{ ...errorRateHarm, controlDegraded: true }]), seconds(10));
    expect(held.decision).toBe('hold');
    expect(held.change).toBeUndefined();
    expect(held.notice).toMatchObject({
      alert: { type: 'canary.held', dedupKey: `canary:${canary().id}:held:0:${STARTED.toISOString()}` },
      event: { type: 'held' },
    });
    expect(held.verdict.sentence).toMatch(
      /^holding in stage 1 \(5%\): error rate \+2\.4 pp .*, but the control is as unwell/,
    );
    const paused = tick(canary(), verdict('hold', [{ ...errorRateHarm, controlDegraded: true }]), seconds(1800));
    expect(paused.change).toMatchObject({ state: 'paused', alert: { type: 'canary.paused' } });
    expect(paused.verdict.sentence).toMatch(
      /^paused in stage 1 \(5%\): still holding after 30 min in the stage \(it may hold 30 min\): error rate \+2\.4 pp .*, but the control is as unwell$/,
    );
  });

  it('extends the last stage with a notice said once per stage naming the estimate past its margin, then pauses', () => {
    const last = canary({ stageIndex: 1 });
    const beyond = verdict('pass', [errorRateBeyond, p99Within]);
    const extended = tick(last, beyond, seconds(60));
    expect(extended.decision).toBe('extend');
    expect(extended.change).toBeUndefined();
    expect(extended.notice).toMatchObject({
      alert: { type: 'canary.extended', dedupKey: `canary:${last.id}:extended:1:${STARTED.toISOString()}` },
      event: { type: 'stage_extended', message: extended.verdict.sentence },
    });
    expect(extended.verdict.sentence).toBe(
      'extended stage 2 (15%) after 60 s of 60 s (up to 3.0 min): error rate +1.8 pp [-0.9, +4.5] vs +1 pp is past its margin, neither harm nor safety shown yet at n = 1,903 / 10,811; judging on: harm at every look, the estimates again at 2.0 min',
    );
    const between = decideTick({
      canary: last,
      timing: stageTiming(last, STARTED, seconds(90), { at: seconds(60), decision: 'extend' }),
      verdict: verdict('pass', [p99Within]),
      at: seconds(90),
      slotStart: seconds(90),
      window: { from: STARTED, to: seconds(90) },
    });
    expect(between.decision).toBe('extend');
    expect(between.verdict.sentence).toBe(
      'judging extended stage 2 (15%), 90 s (up to 3.0 min): no harm shown, no guardrail worse than its margin (closest: p99 latency ×1.01 [×0.93, ×1.10] within ×1.2) at n = 1,903 / 10,811; the estimates are judged for promotion at 2.0 min',
    );
    // Past its second minute: not rounded up to the limit it has not reached.
    expect(tick(last, beyond, seconds(165)).verdict.sentence).toMatch(
      /^extended stage 2 \(15%\) after 2\.8 min of 60 s \(up to 3\.0 min\)/,
    );
    const paused = tick(last, beyond, seconds(180));
    expect(paused.change).toMatchObject({ state: 'paused', alert: { type: 'canary.paused' } });
    expect(paused.verdict.sentence).toBe(
      'paused in stage 2 (15%): still past a margin after 2 extensions (3.0 min in the stage): error rate +1.8 pp [-0.9, +4.5] vs +1 pp, neither harm nor safety shown; resume to judge a fresh window, or abort',
    );
  });

  it('pauses a stage that lacks data after its extensions, with an alert', () => {
    const paused = tick(canary(), verdict('insufficient_data', []), seconds(180));
    expect(paused.change).toMatchObject({
      state: 'paused',
      event: { type: 'paused' },
      alert: { type: 'canary.paused', dedupKey: `canary:${canary().id}:paused:0:${STARTED.toISOString()}` },
    });
    expect(paused.verdict.sentence).toBe(
      'paused in stage 1 (5%): too little traffic after 2 extensions: treatment has 40 requests in the stage, fewer than the 200 needed',
    );
  });

  it('stores the verdict with its time, tick period, stage, window and everything the engine saw', () => {
    const at = seconds(61.5);
    const { verdict: stored } = tick(canary(), verdict('pass'), at);
    expect(stored).toMatchObject({
      at: at.toISOString(),
      slotStart: seconds(60).toISOString(),
      stage: 0,
      percentage: 5,
      decision: 'advance',
      outcome: 'pass',
      atStageEnd: true,
      window: { from: STARTED.toISOString(), to: at.toISOString() },
      metrics: [p99Within],
      srm: { pValue: 1, units: { treatment: 1500, control: 8500 } },
      n: { treatment: { requests: 1903, users: 1500 } },
    });
    expect(verdictMessage(stored)).toBe(`pass -> advance: ${stored.sentence}`);
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

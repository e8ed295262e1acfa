import { DEFAULT_CANARY_ANALYSIS, type CanaryAnalysis } from './canary-analysis';
import { resolveCanaryAnalysis } from './canary-analysis-input';
import { VARIANCE_BUCKETS } from './clustered';
import type { ControlWindow } from './degradation';
import { binOf, emptyHistogram } from './histogram';
import { judgedMetrics } from './canary-analysis';
import { judgeStage, type StageInput } from './stage-verdict';
import { emptyBuckets, planThresholds, type ArmPooled, type ArmWindow } from './window';

/** A request as the SQL of src/metrics sees a row. */
interface Row {
  user: number;
  outcome: 'ok' | 'error' | 'aborted' | 'invalid';
  latencyMs: number;
  ttftMs?: number;
}

/** What the SQL computes from rows (canary-window-reader.ts), computed here in memory. */
function pooledOf(rows: Row[]): ArmPooled {
  const histograms = { latency: emptyHistogram(), ttft: emptyHistogram(), ttfb: emptyHistogram() };
  for (const row of rows) {
    if (row.outcome !== 'ok') continue;
    histograms.latency[binOf(row.latencyMs)]++;
    histograms.ttfb[binOf(row.ttftMs ?? row.latencyMs)]++;
    if (row.ttftMs !== undefined) histograms.ttft[binOf(row.ttftMs)]++;
  }
  return {
    units: new Set(rows.map((row) => row.user)).size,
    rows: rows.length,
    requests: rows.filter((row) => row.outcome !== 'invalid').length,
    histograms,
  };
}

function windowOf(
  rows: Row[],
  pooled: ArmPooled,
  specs: StageInput['plan']['treatment'],
  abandonmentBin: number,
): ArmWindow {
  const buckets = emptyBuckets(specs.length);
  for (const row of rows) {
    const bucket = buckets[row.user % VARIANCE_BUCKETS];
    const c = bucket.counters;
    c.rows++;
    if (row.outcome === 'invalid') {
      c.judgedRows++;
      c.invalid++;
      continue;
    }
    c.requests++;
    c.judgedRows++;
    if (row.outcome === 'error') c.failures++;
    if (row.outcome === 'aborted' && binOf(row.latencyMs) >= abandonmentBin) c.abandoned++;
    if (row.outcome !== 'ok') continue;
    c.latencyRows++;
    if (row.ttftMs !== undefined) c.ttftRows++;
    specs.forEach((spec, i) => {
      const value = spec.histogram === 'latency' ? row.latencyMs : row.ttftMs;
      if (value !== undefined && binOf(value) < spec.bin) bucket.below[i]++;
    });
  }
  return { pooled, buckets };
}

/** Deterministic pseudo-random draws, so that the fixtures are the same on every run. */
function generator(seed: number) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

interface ArmSpec {
  requests: number;
  users: number;
  errorRate?: number;
  medianMs?: number;
  /** Multiply the slowest 3% of latencies (the tail) by this. */
  tailFactor?: number;
  abandonRate?: number;
  invalidRate?: number;
  firstUser?: number;
}

function rowsOf(spec: ArmSpec, seed: number): Row[] {
  const random = generator(seed);
  const rows: Row[] = [];
  for (let i = 0; i < spec.requests; i++) {
    const user = (spec.firstUser ?? 0) + Math.floor(random.uniform() * spec.users);
    const z = random.normal();
    let latencyMs = (spec.medianMs ?? 500) * Math.exp(0.45 * z);
    if (spec.tailFactor && z > 1.88) latencyMs *= spec.tailFactor;
    const u = random.uniform();
    const outcome: Row['outcome'] =
      u < (spec.invalidRate ?? 0)
        ? 'invalid'
        : random.uniform() < (spec.errorRate ?? 0.005)
          ? 'error'
          : random.uniform() < (spec.abandonRate ?? 0)
            ? 'aborted'
            : 'ok';
    rows.push({
      user,
      outcome,
      latencyMs: outcome === 'aborted' ? 20_000 : latencyMs,
      ttftMs: i % 3 === 0 ? latencyMs * 0.3 : undefined,
    });
  }
  return rows;
}

function controlWindow(rows: Row[]): ControlWindow {
  const pooled = pooledOf(rows);
  return {
    requests: pooled.requests,
    failures: rows.filter((row) => row.outcome === 'error').length,
    histograms: pooled.histograms,
  };
}

function judge(
  treatment: ArmSpec,
  control: ArmSpec | null,
  options: { analysis?: CanaryAnalysis; share?: number; recent?: ArmSpec; baseline?: ArmSpec } = {},
) {
  const analysis = options.analysis ?? DEFAULT_CANARY_ANALYSIS;
  const tRows = rowsOf(treatment, 1);
  const cRows = control ? rowsOf({ firstUser: 1_000_000, ...control }, 2) : null;
  const tPooled = pooledOf(tRows);
  const cPooled = cRows ? pooledOf(cRows) : null;
  const plan = planThresholds(judgedMetrics(analysis), tPooled, cPooled);
  const share = options.share ?? treatment.users / (treatment.users + (control?.users ?? 0));
  return judgeStage({
    analysis,
    judgedStages: 4,
    plannedRequests: (tRows.length + (cRows?.length ?? 0)) * 1.5,
    treatment: windowOf(tRows, tPooled, plan.treatment, plan.abandonmentBin),
    control: cRows ? windowOf(cRows, cPooled!, plan.control, plan.abandonmentBin) : null,
    plan,
    srm: cRows ? { expectedShare: share } : { skipped: 'no control arm at 100%' },
    degradation:
      cRows && options.recent && options.baseline
        ? { recent: controlWindow(rowsOf(options.recent, 3)), baseline: controlWindow(rowsOf(options.baseline, 4)) }
        : null,
  });
}

const healthy: ArmSpec = { requests: 4_000, users: 1_500 };
const control: ArmSpec = { requests: 36_000, users: 13_500 };

describe('judgeStage', () => {
  it('passes a treatment identical to the control, with every piece of evidence', () => {
    const verdict = judge(healthy, control);
    expect(verdict.outcome).toBe('pass');
    expect(verdict.metrics.filter((m) => m.status === 'harm')).toEqual([]);
    expect(verdict.srm).toMatchObject({ checked: true, mismatch: false, expectedShare: 0.1 });
    expect(verdict.n.treatment.requests).toBe(4_000);
    expect(verdict.alpha).toEqual({ canary: 0.05, perComparison: 0.05 / (4 * 8), stages: 4, comparisons: 8 });
    const errorRate = verdict.metrics.find((m) => m.metric === 'errorRate')!;
    expect(errorRate).toMatchObject({
      against: 'control',
      scale: 'difference',
      margin: 0.01,
      marginType: 'absolute',
      treatment: { n: 4_000 },
      control: { n: 36_000 },
    });
    expect(errorRate.interval![0]).toBeLessThan(errorRate.effect!);
    expect(errorRate.interval![1]).toBeGreaterThan(errorRate.effect!);
    expect(errorRate.interval![1]).toBeLessThan(0.01);
    expect(errorRate.status).toBe('within_margin');
    const p99 = verdict.metrics.find((m) => m.metric === 'latencyP99')!;
    expect(p99).toMatchObject({ scale: 'ratio', margin: 1.2, marginType: 'relative' });
    expect(p99.effect!).toBeGreaterThan(0.85);
    expect(p99.effect!).toBeLessThan(1.15);
  });

  it('fails a treatment whose error rate is beyond the margin, with its confidence sequence past it', () => {
    const verdict = judge({ ...healthy, errorRate: 0.04 }, control);
    expect(verdict.outcome).toBe('fail');
    const errorRate = verdict.metrics.find((m) => m.metric === 'errorRate')!;
    expect(errorRate.status).toBe('harm');
    expect(errorRate.interval![0]).toBeGreaterThan(0.01);
    expect(errorRate.pValue).toBeLessThan(errorRate.alpha);
  });

  it('judges the tail on the tail: a doubled p99 with the same median fails on p99 alone', () => {
    const verdict = judge({ ...healthy, tailFactor: 2.2 }, control);
    expect(verdict.outcome).toBe('fail');
    const byKey = Object.fromEntries(verdict.metrics.map((m) => [m.metric, m]));
    expect(byKey.latencyP99.status).toBe('harm');
    expect(byKey.latencyP99.interval![0]).toBeGreaterThan(1.2);
    expect(byKey.latencyP50.status).not.toBe('harm');
  });

  it("never fails a treatment for a tail that is better than the control's", () => {
    const verdict = judge({ ...healthy, tailFactor: 0.6 }, control);
    const p99 = verdict.metrics.find((m) => m.metric === 'latencyP99')!;
    expect(p99.effect!).toBeLessThan(1);
    expect(p99.status).not.toBe('harm');
    expect(verdict.outcome).toBe('pass');
  });

  it("counts abandonments past the control's p95 time to first byte against the treatment", () => {
    const verdict = judge({ ...healthy, abandonRate: 0.1 }, control);
    expect(verdict.outcome).toBe('fail');
    expect(verdict.metrics.find((m) => m.metric === 'abandonmentRate')!.status).toBe('harm');
  });

  it('holds instead of failing when the control is degraded on the same metric (a shared outage)', () => {
    const outage = { errorRate: 0.3 };
    const verdict = judge(
      { ...healthy, ...outage },
      { ...control, ...outage, errorRate: 0.2 },
      {
        recent: { requests: 3_000, users: 1_000, errorRate: 0.3 },
        baseline: { requests: 30_000, users: 10_000, errorRate: 0.005 },
      },
    );
    expect(verdict.outcome).toBe('hold');
    const errorRate = verdict.metrics.find((m) => m.metric === 'errorRate')!;
    expect(errorRate.status).toBe('harm');
    expect(errorRate.controlDegraded).toBe(true);
    expect(verdict.degradation.find((check) => check.key === 'errorRate')).toMatchObject({ degraded: true });
    expect(verdict.reasons).toEqual(['control error rate degraded too']);
  });

  it('holds when the control is degraded even though the treatment looks no worse', () => {
    const verdict = judge(healthy, control, {
      recent: { requests: 3_000, users: 1_000, medianMs: 1_500 },
      baseline: { requests: 30_000, users: 10_000 },
    });
    expect(verdict.outcome).toBe('hold');
    expect(verdict.degradation.filter((check) => check.degraded).map((check) => check.key)).toContain('latency:0.5');
  });

  it('calls a split of users off the weights in force a sample-ratio mismatch, whatever the metrics say', () => {
    const verdict = judge(healthy, control, { share: 0.15 });
    expect(verdict.outcome).toBe('srm');
    expect(verdict.srm.pValue).toBeLessThan(0.001);
    // Numbers as the control room writes them: 13,500, not 13500 or 13 500.
    expect(verdict.reasons[0]).toMatch(
      /^sample ratio mismatch: \d{1,3}(,\d{3})* treatment \/ \d{1,3}(,\d{3})* control users and \d{1,3}(,\d{3})* \/ \d{1,3}(,\d{3})* requests/,
    );
    expect(verdict.reasons[0]).toContain(',');
    expect(verdict.metrics).toEqual([]);
  });

  it('judges nothing until both arms have minRequests', () => {
    const verdict = judge({ requests: 150, users: 100 }, control);
    expect(verdict.outcome).toBe('insufficient_data');
    expect(verdict.reasons).toEqual(['treatment has 150 requests in the stage, fewer than the 200 needed']);
  });

  it('says how many requests an arm has and needs with grouped digits', () => {
    const analysis = resolveCanaryAnalysis({ minRequests: 2_000 }).analysis;
    const verdict = judge({ requests: 1_500, users: 1_000 }, { requests: 13_500, users: 9_000 }, { analysis });
    expect(verdict.reasons).toEqual(['treatment has 1,500 requests in the stage, fewer than the 2,000 needed']);
    const one = judge({ requests: 1, users: 1 }, control);
    expect(one.reasons).toEqual(['treatment has 1 request in the stage, fewer than the 200 needed']);
  });

  it('fails a hard gate the treatment breaks alone, and holds on one the control breaks too', () => {
    const analysis = resolveCanaryAnalysis({
      hardGates: { maxErrorRate: 0.05 },
      guardrails: { errorRate: null },
    }).analysis;
    const alone = judge({ ...healthy, errorRate: 0.12 }, control, { analysis });
    expect(alone.outcome).toBe('fail');
    expect(alone.metrics.find((m) => m.against === 'limit')).toMatchObject({
      status: 'harm',
      margin: 0.05,
      controlDegraded: false,
    });
    const both = judge({ ...healthy, errorRate: 0.12 }, { ...control, errorRate: 0.12 }, { analysis });
    expect(both.outcome).toBe('hold');
    expect(both.metrics.find((m) => m.against === 'limit')).toMatchObject({ status: 'harm', controlDegraded: true });
  });

  it('at 100% compares nothing with a control: only hard gates are judged', () => {
    const verdict = judge(healthy, null);
    expect(verdict.outcome).toBe('pass');
    expect(verdict.srm.checked).toBe(false);
    expect(verdict.metrics.every((m) => m.status === 'no_data')).toBe(true);
  });

  it('leaves invalid requests out of every statistic but the invalid-request rate', () => {
    const clean = judge(healthy, control);
    const withInvalid = judge({ ...healthy, invalidRate: 0.2 }, control);
    const invalid = withInvalid.metrics.find((m) => m.metric === 'invalidRequestRate')!;
    expect(invalid.status).toBe('harm');
    expect(withInvalid.n.treatment.requests).toBeLessThan(clean.n.treatment.requests);
    expect(withInvalid.metrics.find((m) => m.metric === 'errorRate')!.treatment.estimate).toBeLessThan(0.02);
  });
});

import type { MetricResult, StageVerdict } from '@switchyard/stats';
import { metricClause, verdictSentence, type SentenceContext } from './verdict-text';

const ttftP95: MetricResult = {
  metric: 'ttftP95',
  label: 'p95 time to first token',
  kind: 'quantile',
  direction: 'lower_is_better',
  against: 'control',
  scale: 'ratio',
  treatment: { estimate: 410, n: 60 },
  control: { estimate: 409, n: 340 },
  effect: 1.002,
  interval: [0.91, 1.84],
  margin: 1.2,
  marginType: 'relative',
  alpha: 0.0015625,
  pValue: 0.6,
  status: 'inconclusive',
  controlDegraded: false,
};

const errorRate: MetricResult = {
  ...ttftP95,
  metric: 'errorRate',
  label: 'error rate',
  kind: 'rate',
  scale: 'difference',
  effect: 0.018,
  interval: [-0.009, 0.045],
  margin: 0.01,
  marginType: 'absolute',
};

describe('metricClause: a side of the interval the data cannot bound yet', () => {
  it('writes both bounds of a bounded interval', () => {
    expect(metricClause(ttftP95)).toBe('p95 time to first token ×1.00 [×0.91, ×1.84] vs ×1.2');
    expect(metricClause(errorRate)).toBe('error rate +1.8 pp [-0.9, +4.5] vs +1 pp');
  });

  // A ratio's lower side comes as 0 when unbounded (exp(-∞)), never as null: not "×0.00", a bound it is not.
  it.each([
    ['0', 0],
    ['null', null],
    ['-Infinity', Number.NEGATIVE_INFINITY],
  ])('writes a ratio without a lower bound (%s) as at most its upper one', (_what, low) => {
    expect(metricClause({ ...ttftP95, interval: [low, 1.84] })).toBe('p95 time to first token ×1.00 [≤ ×1.84] vs ×1.2');
  });

  it('writes a ratio without an upper bound as at least its lower one, also when it shows harm', () => {
    expect(metricClause({ ...ttftP95, interval: [0.91, null] })).toBe(
      'p95 time to first token ×1.00 [≥ ×0.91] vs ×1.2',
    );
    expect(metricClause({ ...ttftP95, effect: 2.02, interval: [1.71, null], status: 'harm' })).toBe(
      'p95 time to first token ×2.02 [≥ ×1.71] > margin ×1.2',
    );
  });

  it('writes a difference without a bound on a side the same way, in percentage points too', () => {
    expect(metricClause({ ...errorRate, interval: [null, 0.045] })).toBe('error rate +1.8 pp [≤ +4.5] vs +1 pp');
    expect(metricClause({ ...errorRate, interval: [-0.009, null] })).toBe('error rate +1.8 pp [≥ -0.9] vs +1 pp');
    const p99 = { ...errorRate, metric: 'latencyP99', label: 'p99 latency', kind: 'quantile' as const };
    expect(metricClause({ ...p99, effect: 35, interval: [null, 412], margin: 200 })).toBe(
      'p99 latency +35 ms [≤ +412] vs +200 ms',
    );
  });

  it('says so when neither side is bounded yet', () => {
    expect(metricClause({ ...ttftP95, interval: [0, null] })).toBe(
      'p95 time to first token ×1.00 [no bounds yet] vs ×1.2',
    );
    expect(metricClause({ ...errorRate, interval: [null, null] })).toBe('error rate +1.8 pp [no bounds yet] vs +1 pp');
  });
});

describe('metricClause: a mean in its own unit', () => {
  const mean: MetricResult = {
    ...errorRate,
    kind: 'mean',
    direction: 'higher_is_better',
    effect: -0.125,
    interval: [-0.41, 0.16],
    margin: -0.5,
  };

  it('writes cost in dollars', () => {
    expect(
      metricClause({
        ...mean,
        metric: 'costPerRequest',
        label: 'cost per request',
        unit: '$',
        direction: 'lower_is_better',
        effect: 0.00012,
        interval: [-0.0001, 0.00034],
        margin: 0.0005,
      }),
    ).toBe('cost per request +$0.00012 [-$0.0001, +$0.00034] vs +$0.0005');
  });

  it('writes a defined outcome mean (a rating) as a plain number, not in dollars', () => {
    expect(metricClause({ ...mean, metric: 'outcome:rating', label: 'mean rating', unit: '' })).toBe(
      'mean rating -0.125 [-0.41, +0.16] vs -0.5',
    );
    expect(
      metricClause({
        ...mean,
        metric: 'outcome:order',
        label: 'mean order',
        unit: '',
        effect: 1250.4,
        interval: [-310, 2811],
        margin: -500,
      }),
    ).toBe('mean order +1,250 [-310, +2,811] vs -500');
  });
});

describe('verdictSentence: the guardrail closest to its margin', () => {
  const judging: SentenceContext = {
    decision: 'wait',
    stageName: 'stage 1 (5%)',
    elapsedSeconds: 300,
    durationSeconds: 600,
    limitSeconds: 1200,
    holdLimitSeconds: 1800,
    maxStageExtensions: 2,
    promotionDue: false,
    nextCheckpointSeconds: 600,
  };
  const verdictOf = (metrics: MetricResult[]) =>
    ({
      outcome: 'pass',
      reasons: [],
      metrics,
      n: { treatment: { requests: 1903, users: 1500 }, control: { requests: 10811, users: 8500 } },
    }) as unknown as StageVerdict;
  const errorsWithin: MetricResult = {
    ...errorRate,
    effect: -0.002,
    interval: [-0.009, 0.004],
    status: 'within_margin',
  };
  // Higher is better: harm lies below ×0.98, and this lower side is 0, exp(-∞): no bound at all yet.
  const conversion: MetricResult = {
    ...ttftP95,
    metric: 'checkout_converted',
    label: 'checkout_converted',
    kind: 'rate',
    direction: 'higher_is_better',
    effect: 1.05,
    interval: [0, 1.4],
    margin: 0.98,
  };

  it('passes over a ratio whose harmful side is unbounded (0), as its interval is written', () => {
    expect(verdictSentence(verdictOf([errorsWithin, conversion]), judging)).toBe(
      'judging stage 1 (5%), 5.0 min of 10 min: no guardrail worse than its margin ' +
        '(closest: error rate -0.2 pp [-0.9, +0.4] within +1 pp) at n = 1,903 / 10,811',
    );
  });

  it('says nothing is judged yet when no metric is bounded on its harmful side', () => {
    expect(verdictSentence(verdictOf([conversion]), judging)).toBe(
      'judging stage 1 (5%), 5.0 min of 10 min: nothing judged against a margin (no comparable data) at n = 1,903 / 10,811',
    );
  });

  it('still judges a ratio bounded on its harmful side', () => {
    const bounded = { ...conversion, interval: [0.99, 1.4] as [number, number] };
    expect(verdictSentence(verdictOf([errorsWithin, bounded]), judging)).toBe(
      'judging stage 1 (5%), 5.0 min of 10 min: no guardrail worse than its margin ' +
        '(closest: checkout_converted ×1.05 [×0.99, ×1.40] vs ×0.98) at n = 1,903 / 10,811',
    );
  });
});

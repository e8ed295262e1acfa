import { judgeShadow, type ShadowSummary, type ShadowThresholds } from './shadow-verdict';

const THRESHOLDS: ShadowThresholds = {
  minPairs: 50,
  errorMargin: 0.01,
  qualityMargin: 0.01,
  maxLatencyRatio: 1.5,
  maxCostRatio: 1.5,
  minAgreementRate: null,
  alpha: 0.05,
  plannedPairs: 100,
};

function summary(overrides: Partial<ShadowSummary> = {}): ShadowSummary {
  return {
    pairs: 100,
    errors: { candidateOnly: 0, controlOnly: 0, pairs: 100 },
    quality: { candidateOnly: 0, controlOnly: 0, pairs: 100 },
    latencyRatio: 1,
    costRatio: 1,
    agreement: { judged: 100, agreed: 100 },
    ...overrides,
  };
}

describe('judgeShadow', () => {
  it('passes an equivalent candidate', () => {
    expect(judgeShadow(summary(), THRESHOLDS, true).outcome).toBe('pass');
  });

  it('fails a candidate with broken JSON on half of the pairs, at any look', () => {
    const verdict = judgeShadow(
      summary({ quality: { candidateOnly: 50, controlOnly: 0, pairs: 100 } }),
      THRESHOLDS,
      false,
    );
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons[0]).toMatch(
      /^quality-signal rate: the candidate is worse on 50 pairs and better on 0 of 100/,
    );
  });

  it('does not fail on discordant pairs that cancel out', () => {
    const verdict = judgeShadow(
      summary({ errors: { candidateOnly: 3, controlOnly: 3, pairs: 100 } }),
      THRESHOLDS,
      true,
    );
    expect(verdict.outcome).toBe('pass');
  });

  it('judges latency, cost and agreement only at the stage end', () => {
    const slow = summary({ latencyRatio: 2, agreement: { judged: 100, agreed: 50 } });
    const thresholds = { ...THRESHOLDS, minAgreementRate: 0.9 };
    expect(judgeShadow(slow, thresholds, false).outcome).toBe('pass');
    const atEnd = judgeShadow(slow, thresholds, true);
    expect(atEnd.outcome).toBe('fail');
    expect(atEnd.signals.filter((s) => s.status === 'harm').map((s) => s.signal)).toEqual(['latency', 'agreement']);
  });

  it('waits for the minimum of pairs', () => {
    expect(judgeShadow(summary({ pairs: 10 }), THRESHOLDS, true).outcome).toBe('insufficient_data');
  });
});

import { DEFAULT_CANARY_ANALYSIS, judgedMetrics, outcomeWindowMs } from './canary-analysis';
import { resolveCanaryAnalysis } from './canary-analysis-input';

describe('resolveCanaryAnalysis', () => {
  it('fills every default: relative guardrails on, hard gates off, alpha 5%, SRM at 0.001', () => {
    const { analysis, problems } = resolveCanaryAnalysis(undefined);
    expect(problems).toEqual([]);
    expect(analysis).toEqual(DEFAULT_CANARY_ANALYSIS);
    expect(analysis.guardrails.errorRate).toEqual({ absolute: 0.01 });
    expect(analysis.guardrails.latencyP99).toEqual({ relative: 0.2 });
    expect(analysis.hardGates).toEqual({ maxErrorRate: null, maxP99LatencyMs: null, maxCostPerRequestUsd: null });
    expect(judgedMetrics(analysis).map((m) => m.definition.key)).toEqual([
      'errorRate',
      'abandonmentRate',
      'invalidRequestRate',
      'latencyP50',
      'latencyP95',
      'latencyP99',
      'ttftP50',
      'ttftP95',
    ]);
  });

  it('merges a partial analysis: a guardrail off, a margin changed, a hard gate on', () => {
    const { analysis, problems } = resolveCanaryAnalysis({
      alpha: 0.01,
      guardrails: { ttftP95: null, latencyP99: { absolute: 300 }, costPerRequest: { relative: 0.5 } },
      hardGates: { maxErrorRate: 0.05 },
    });
    expect(problems).toEqual([]);
    expect(analysis.alpha).toBe(0.01);
    expect(analysis.guardrails.ttftP95).toBeNull();
    expect(analysis.guardrails.latencyP99).toEqual({ absolute: 300 });
    expect(analysis.guardrails.errorRate).toEqual({ absolute: 0.01 });
    expect(judgedMetrics(analysis).filter((m) => 'limit' in m.comparison)).toHaveLength(1);
    // The shared default is untouched.
    expect(DEFAULT_CANARY_ANALYSIS.guardrails.ttftP95).toEqual({ relative: 0.2 });
  });

  it('names every bad field by its path, and says what replaced a setting of the old engine', () => {
    const { problems } = resolveCanaryAnalysis({
      alpha: 0.9,
      minRequests: 0,
      guardrails: {
        errorRate: { absolute: 2 },
        latencyP99: 1.2,
        latencyP42: null,
        ttftP50: { relative: 0.1, absolute: 5 },
      },
      hardGates: { maxErrorRate: -1, maxLatency: 5 },
      maxErrorRate: 0.02,
      failureThreshold: 2,
      typo: true,
    });
    expect(problems).toEqual([
      'analysis.alpha must be a number above 0 and at most 0.5, got 0.9',
      'analysis.minRequests must be an integer from 1 to 10000000, got 0',
      'analysis.guardrails.errorRate.absolute must be a rate above 0 and at most 1, got 2',
      'analysis.guardrails.latencyP99 must be { "absolute": number } or { "relative": number } (how much worse than the control it may be), or null for off; got 1.2',
      expect.stringMatching(/^analysis\.guardrails\.latencyP42 is not a guardrail \(guardrails: errorRate, /),
      expect.stringMatching(/^analysis\.guardrails\.ttftP50 must be/),
      'analysis.hardGates.maxErrorRate must be a rate above 0 and at most 1, or null for off, got -1',
      expect.stringMatching(/^analysis\.hardGates\.maxLatency is not a hard gate/),
      expect.stringMatching(
        /^analysis\.maxErrorRate is no longer a setting: judged against the control now: guardrails\.errorRate/,
      ),
      expect.stringMatching(
        /^analysis\.failureThreshold is no longer a setting: a confidence sequence stays valid at every look/,
      ),
      'analysis.typo is not a canary analysis setting',
    ]);
  });

  it('gates on outcome metrics: the quality signals, each with a margin, judged after the guardrails', () => {
    const { analysis, problems } = resolveCanaryAnalysis({
      outcomes: [
        { metric: 'empty_answer', margin: { absolute: 0.005 } },
        { metric: 'refusal', margin: { relative: 0.5 } },
      ],
      hardGates: { maxErrorRate: 0.05 },
    });
    expect(problems).toEqual([]);
    expect(analysis.outcomes).toEqual([
      { metric: 'empty_answer', margin: { absolute: 0.005 } },
      { metric: 'refusal', margin: { relative: 0.5 } },
    ]);
    const keys = judgedMetrics(analysis).map((m) => m.definition.key);
    expect(keys.slice(-3)).toEqual(['empty_answer', 'refusal', 'errorRate']);
    const empty = judgedMetrics(analysis).find((m) => m.definition.key === 'empty_answer')!;
    expect(empty.definition).toMatchObject({ kind: 'rate', numerator: 'emptyAnswers', denominator: 'answers' });
    // A canary stored before outcomes existed has none.
    const { outcomes: _, ...stored } = DEFAULT_CANARY_ANALYSIS;
    expect(judgedMetrics(stored)).toHaveLength(8);
  });

  it('gates on defined outcome metrics, keeping their definition as it was', () => {
    const defined = { type: 'binary', direction: 'higher_is_better', unit: 'user', windowSeconds: 600 } as const;
    const { analysis, problems } = resolveCanaryAnalysis(
      { outcomes: [{ metric: 'checkout_converted', margin: { relative: 0.02 } }] },
      (key) => (key === 'checkout_converted' ? defined : undefined),
    );
    expect(problems).toEqual([]);
    expect(analysis.outcomes).toEqual([
      { metric: 'checkout_converted', margin: { relative: 0.02 }, definition: defined },
    ]);
    expect(outcomeWindowMs(analysis)).toBe(600_000);
    const judged = judgedMetrics(analysis).find((m) => m.definition.key === 'checkout_converted')!;
    expect(judged.definition).toMatchObject({
      kind: 'rate',
      direction: 'higher_is_better',
      numerator: 'outcome:checkout_converted:sum',
      denominator: 'outcome:checkout_converted:n',
    });
  });

  it('takes a primary outcome only among the gated outcomes', () => {
    const outcomes = [{ metric: 'empty_answer', margin: { absolute: 0.01 } }];
    expect(resolveCanaryAnalysis({ outcomes, primaryOutcome: 'empty_answer' }).problems).toEqual([]);
    expect(resolveCanaryAnalysis({ outcomes, primaryOutcome: 'refusal' }).problems).toEqual([
      'analysis.primaryOutcome "refusal" must be one of analysis.outcomes (empty_answer)',
    ]);
  });

  it('names each bad outcome gate by its index', () => {
    expect(resolveCanaryAnalysis({ outcomes: { empty_answer: 0.01 } }).problems).toEqual([
      expect.stringMatching(/^analysis\.outcomes must be a list such as/),
    ]);
    const { problems } = resolveCanaryAnalysis({
      outcomes: [
        { metric: 'conversion', margin: { absolute: 0.01 } },
        { metric: 'truncated', margin: { absolute: 2 } },
        { metric: 'truncated', margin: 0.01 },
        { metric: 'refusal', margin: { absolute: 0.01 }, extra: 1 },
        { metric: 'refusal', margin: { absolute: 0.01 } },
      ],
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^analysis\.outcomes\[0\]\.metric must be an outcome metric \(a defined one, .* or a built-in: empty_answer, truncated, /,
      ),
      'analysis.outcomes[1].margin.absolute must be a rate above 0 and at most 1, got 2',
      expect.stringMatching(/^analysis\.outcomes\[2\]\.margin must be \{ "absolute": number \}/),
      'analysis.outcomes[3].extra is not a field (metric, margin)',
      'analysis.outcomes[4].metric: "refusal" is listed twice',
    ]);
  });

  it('refuses a non-object analysis', () => {
    expect(resolveCanaryAnalysis([1]).problems).toEqual(['analysis must be an object, got [1]']);
  });
});

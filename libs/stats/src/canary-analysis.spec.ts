import { DEFAULT_CANARY_ANALYSIS, resolveCanaryAnalysis, type CanaryAnalysisInput } from './canary-analysis';

describe('DEFAULT_CANARY_ANALYSIS', () => {
  it('holds the documented defaults', () => {
    expect(DEFAULT_CANARY_ANALYSIS).toEqual({
      minRequests: 200,
      maxErrorRate: 0.02,
      maxP99LatencyMs: 2000,
      stageEnd: { maxErrorRate: 0.01, maxAvgLatencyMs: 500 },
      compareToControl: true,
      maxCostPerRequestUsd: null,
      maxCostRatioToControl: null,
      failureThreshold: 2,
      severeFactor: 2,
      significance: 0.05,
    });
  });

  it('cannot be changed in place by one canary for all the others', () => {
    expect(() => {
      (DEFAULT_CANARY_ANALYSIS as { minRequests: number }).minRequests = 1;
    }).toThrow(TypeError);
    expect(() => {
      DEFAULT_CANARY_ANALYSIS.stageEnd.maxErrorRate = 0.5;
    }).toThrow(TypeError);
  });
});

describe('resolveCanaryAnalysis', () => {
  it('gives the defaults, as a copy, for no input', () => {
    for (const input of [undefined, null, {}]) {
      const { analysis, problems } = resolveCanaryAnalysis(input);
      expect(problems).toEqual([]);
      expect(analysis).toEqual(DEFAULT_CANARY_ANALYSIS);
      expect(analysis).not.toBe(DEFAULT_CANARY_ANALYSIS);
      analysis.stageEnd.maxAvgLatencyMs = 1; // a copy: the defaults stay as they are
    }
    expect(DEFAULT_CANARY_ANALYSIS.stageEnd.maxAvgLatencyMs).toBe(500);
  });

  it('merges given fields over the defaults, stageEnd field by field', () => {
    const { analysis, problems } = resolveCanaryAnalysis({
      minRequests: 500,
      maxErrorRate: 0,
      compareToControl: false,
      maxCostRatioToControl: 1.5,
      stageEnd: { maxAvgLatencyMs: 800 },
    });
    expect(problems).toEqual([]);
    expect(analysis).toEqual({
      ...DEFAULT_CANARY_ANALYSIS,
      minRequests: 500,
      maxErrorRate: 0,
      compareToControl: false,
      maxCostRatioToControl: 1.5,
      stageEnd: { maxErrorRate: 0.01, maxAvgLatencyMs: 800 },
    });
  });

  it('turns an optional gate off with null and treats undefined as "use the default"', () => {
    const { analysis, problems } = resolveCanaryAnalysis({ maxCostPerRequestUsd: null, maxErrorRate: undefined });
    expect(problems).toEqual([]);
    expect(analysis.maxCostPerRequestUsd).toBeNull();
    expect(analysis.maxErrorRate).toBe(0.02);
  });

  it('lists every bad value, one sentence each', () => {
    const { problems } = resolveCanaryAnalysis({
      minRequests: 0,
      maxErrorRate: 1.5,
      maxP99LatencyMs: -1,
      stageEnd: { maxErrorRate: 0, maxAvgLatencyMs: Number.NaN },
      compareToControl: 'yes' as unknown as boolean,
      maxCostPerRequestUsd: -0.01,
      maxCostRatioToControl: 0,
      failureThreshold: 1.5,
      severeFactor: 0.5,
      significance: 0.9,
    });
    expect(problems).toEqual([
      'minRequests must be an integer >= 1, got 0',
      'maxErrorRate must be a number between 0 and 1, got 1.5',
      'maxP99LatencyMs must be a number > 0, got -1',
      'compareToControl must be true or false, got "yes"',
      'maxCostPerRequestUsd must be a number >= 0, or null for off, got -0.01',
      'maxCostRatioToControl must be a number > 0, or null for off, got 0',
      'failureThreshold must be an integer >= 1, got 1.5',
      'severeFactor must be a number >= 1, got 0.5',
      'significance must be a number > 0 and <= 0.5, got 0.9',
      'stageEnd.maxErrorRate must be a number > 0 and <= 1, got 0',
      'stageEnd.maxAvgLatencyMs must be a number > 0, got NaN',
    ]);
  });

  it('rejects null for a setting that cannot be off, and numbers sent as strings', () => {
    const input = { maxErrorRate: null, minRequests: '200' } as unknown as CanaryAnalysisInput;
    expect(resolveCanaryAnalysis(input).problems).toEqual([
      'maxErrorRate must be a number between 0 and 1, got null',
      'minRequests must be an integer >= 1, got "200"',
    ]);
  });

  it('names unknown fields, so that a typo does not silently keep the default', () => {
    const input = { maxErorRate: 0.05, stageEnd: { maxAvgLatency: 300 } } as unknown as CanaryAnalysisInput;
    expect(resolveCanaryAnalysis(input).problems).toEqual([
      'maxErorRate is not a canary analysis setting',
      'stageEnd.maxAvgLatency is not a canary analysis setting',
    ]);
  });

  it('rejects an analysis or stageEnd that is not an object', () => {
    expect(resolveCanaryAnalysis([] as unknown as CanaryAnalysisInput).problems).toEqual([
      'analysis must be an object, got []',
    ]);
    expect(resolveCanaryAnalysis({ stageEnd: 5 } as unknown as CanaryAnalysisInput).problems).toEqual([
      'stageEnd must be an object, got 5',
    ]);
  });

  it('accepts a complete, valid analysis unchanged', () => {
    const full = {
      ...DEFAULT_CANARY_ANALYSIS,
      stageEnd: { ...DEFAULT_CANARY_ANALYSIS.stageEnd },
      maxCostPerRequestUsd: 0.01,
    };
    expect(resolveCanaryAnalysis(full)).toEqual({ analysis: full, problems: [] });
  });
});

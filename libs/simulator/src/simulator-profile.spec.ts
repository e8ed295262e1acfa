import { deriveSeed, SeededRandom } from './seeded-random';
import {
  applyProfilePatch,
  defaultModelProfile,
  drawAnswerShape,
  drawMalformedEvent,
  drawOutcome,
  type ModelProfile,
  type ToolMode,
  InvalidProfileError,
  MAX_LATENCY_MS,
  sampleLatencyMs,
} from './simulator-profile';

describe('applyProfilePatch', () => {
  it('merges a partial profile, latency field by field', () => {
    const base = applyProfilePatch(defaultModelProfile(), { latencyMs: { median: 100, p99: 900 } });
    const merged = applyProfilePatch(base, { latencyMs: { median: 200 }, errorRate: 0.1 });
    expect(merged).toEqual({ ...defaultModelProfile(), latencyMs: { median: 200, p99: 900 }, errorRate: 0.1 });
    expect(base.latencyMs.median).toBe(100); // the base is not mutated
  });

  it.each([
    [{ errorRate: -0.1 }, 'errorRate must be a number between 0 and 1'],
    [{ rateLimitRate: '0.5' }, 'rateLimitRate must be a number between 0 and 1'],
    [{ streamFailureRate: 2 }, 'streamFailureRate must be a number between 0 and 1'],
    [{ errorStatus: 404 }, 'errorStatus must be an integer between 500 and 599'],
    [{ retryAfterSeconds: 1.5 }, 'retryAfterSeconds must be an integer'],
    [{ completionTokens: 0 }, 'completionTokens must be an integer'],
    [{ tokensPerSecond: -1 }, 'tokensPerSecond must be a number >= 0'],
    [{ latencyMs: { median: -1 } }, 'latencyMs.median must be a number of milliseconds'],
    [{ latencyMs: { median: 50, p99: 10 } }, 'latencyMs.p99 must be >= latencyMs.median'],
    [{ toolCallRate: 1.5 }, 'toolCallRate must be a number between 0 and 1'],
    [{ malformedToolCallRate: null }, 'malformedToolCallRate must be a number between 0 and 1'],
    [{ malformedFirstEventRate: 2 }, 'malformedFirstEventRate must be a number between 0 and 1'],
    [{ malformedEventRate: -1 }, 'malformedEventRate must be a number between 0 and 1'],
    [{ errorrate: 0.5 }, 'errorrate is not a profile field'],
  ])('refuses %j naming the field', (patch, message) => {
    expect(() => applyProfilePatch(defaultModelProfile(), patch)).toThrow(message);
  });

  it('reports every bad field at once', () => {
    try {
      applyProfilePatch(defaultModelProfile(), { errorRate: 3, errorStatus: 200 });
      throw new Error('expected a failure');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidProfileError);
      expect((error as InvalidProfileError).problems).toHaveLength(2);
    }
  });
});

describe('sampleLatencyMs', () => {
  const latency = { median: 200, p99: 1500 };

  it('maps z = 0 to the median and z = 2.3263 to the p99', () => {
    expect(sampleLatencyMs(latency, 0)).toBeCloseTo(200, 6);
    expect(sampleLatencyMs(latency, 2.3263)).toBeCloseTo(1500, 6);
  });

  it('is 0 whenever the median is 0, and never above the cap', () => {
    expect(sampleLatencyMs({ median: 0, p99: 500 }, 3)).toBe(0);
    expect(sampleLatencyMs({ median: 1000, p99: MAX_LATENCY_MS }, 10)).toBe(MAX_LATENCY_MS);
  });
});

describe('drawOutcome', () => {
  it('is reproducible for a seed and follows the rates', () => {
    const profile = { ...defaultModelProfile(), errorRate: 0.3 };
    const draw = (seed: number) => {
      const rng = new SeededRandom(deriveSeed(seed, 'model'));
      return Array.from({ length: 1000 }, () => drawOutcome(profile, rng).kind);
    };
    const outcomes = draw(42);
    expect(draw(42)).toEqual(outcomes);
    const errors = outcomes.filter((kind) => kind === 'server_error').length;
    expect(errors).toBeGreaterThan(230);
    expect(errors).toBeLessThan(370);
  });

  it('always and never at rates 1 and 0', () => {
    const rng = new SeededRandom(1);
    expect(drawOutcome({ ...defaultModelProfile(), rateLimitRate: 1, errorRate: 1 }, rng).kind).toBe('rate_limited');
    expect(drawOutcome({ ...defaultModelProfile(), errorRate: 1 }, rng).kind).toBe('server_error');
    expect(drawOutcome(defaultModelProfile(), rng)).toEqual({ kind: 'success', latencyMs: 0, streamFails: false });
  });
});

describe('drawAnswerShape', () => {
  const shapes = (profile: ModelProfile, tools: ToolMode, count = 1000) => {
    const rng = new SeededRandom(deriveSeed(42, 'model#shape'));
    const toolRng = new SeededRandom(deriveSeed(42, 'model#tools'));
    return Array.from({ length: count }, () => drawAnswerShape(profile, rng, toolRng, tools));
  };

  it('calls a tool at toolCallRate when the request allows it, with malformed arguments at their rate', () => {
    const profile = { ...defaultModelProfile(), toolCallRate: 0.5, malformedToolCallRate: 0.3 };
    const drawn = shapes(profile, 'auto');
    const calls = drawn.filter((shape) => shape === 'tool_call' || shape === 'malformed_tool_call').length;
    const malformed = drawn.filter((shape) => shape === 'malformed_tool_call').length;
    expect(calls).toBeGreaterThan(430);
    expect(calls).toBeLessThan(570);
    expect(malformed / calls).toBeGreaterThan(0.22);
    expect(malformed / calls).toBeLessThan(0.38);
    expect(shapes(profile, 'auto')).toEqual(drawn);
    expect(new Set(shapes(profile, 'none'))).toEqual(new Set(['normal']));
    expect(new Set(shapes(defaultModelProfile(), 'forced'))).toEqual(new Set(['tool_call']));
  });

  it("keeps a seed's empty, refused and broken-JSON answers where they were, whatever the tools", () => {
    const profile = { ...defaultModelProfile(), emptyAnswerRate: 0.2, refusalRate: 0.1, invalidJsonRate: 0.3 };
    const withoutTools = shapes(profile, 'none');
    const withTools = shapes({ ...profile, toolCallRate: 0.5, malformedToolCallRate: 0.5 }, 'auto');
    const contentShapes = ['empty', 'refusal'];
    withoutTools.forEach((shape, i) => {
      if (contentShapes.includes(shape)) expect(withTools[i]).toBe(shape);
      // A tool call replaces the content, JSON or not; otherwise the content is what it was.
      else if (!withTools[i].includes('tool_call')) expect(withTools[i]).toBe(shape);
    });
    expect(withTools.some((shape) => shape.includes('tool_call'))).toBe(true);
  });
});

describe('drawMalformedEvent', () => {
  const draws = (profile: ModelProfile, count = 1000) => {
    const rng = new SeededRandom(deriveSeed(42, 'model#events'));
    return Array.from({ length: count }, () => drawMalformedEvent(profile, rng));
  };

  it('puts a malformed event first or after the first content chunk at their rates, reproducibly', () => {
    const profile = { ...defaultModelProfile(), malformedFirstEventRate: 0.2, malformedEventRate: 0.5 };
    const drawn = draws(profile);
    expect(draws(profile)).toEqual(drawn);
    const first = drawn.filter((at) => at === 'first').length;
    const after = drawn.filter((at) => at === 'after_first_chunk').length;
    expect(first).toBeGreaterThan(150);
    expect(first).toBeLessThan(250);
    // The first event wins: half of the other streams.
    expect(after / (1000 - first)).toBeGreaterThan(0.42);
    expect(after / (1000 - first)).toBeLessThan(0.58);
    expect(new Set(draws(defaultModelProfile()))).toEqual(new Set(['none']));
  });

  it("leaves a seed's other sequences where they were: drawn from a stream of its own, two draws a call", () => {
    const rng = new SeededRandom(7);
    const twin = new SeededRandom(7);
    drawMalformedEvent({ ...defaultModelProfile(), malformedFirstEventRate: 1 }, rng);
    twin.next();
    twin.next();
    expect(rng.next()).toBe(twin.next());
  });
});

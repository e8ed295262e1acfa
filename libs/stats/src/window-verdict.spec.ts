import { DEFAULT_CANARY_ANALYSIS, type CanaryAnalysis } from './canary-analysis';
import { judgeWindow, type ArmWindow, type WindowInput, type WindowVerdict } from './window-verdict';

// n latencies spread evenly over [lo, hi]: percentile_cont(p) of it is exactly lo + p·(hi - lo)
// (up to rounding) and the mean (lo + hi) / 2, so every number in a verdict can be read off.
function spread(n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

// A healthy arm: 1000 requests, 0.5% failures, latencies 100..700 ms (avg 400, p99 694), $0.001 each.
function arm(overrides: Partial<ArmWindow> = {}): ArmWindow {
  return { requests: 1000, failures: 5, latenciesMs: spread(1000, 100, 700), costUsd: 1, ...overrides };
}

function judge(
  overrides: Omit<Partial<WindowInput>, 'analysis'> & { analysis?: Partial<CanaryAnalysis> } = {},
): WindowVerdict {
  return judgeWindow({
    treatment: arm(),
    control: arm(),
    atStageEnd: false,
    ...overrides,
    analysis: { ...DEFAULT_CANARY_ANALYSIS, ...overrides.analysis },
  });
}

function check(verdict: WindowVerdict, name: string) {
  const found = verdict.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name} in ${verdict.checks.map((c) => c.name).join(', ')}`);
  return found;
}

// Every number anywhere in the value is finite (JSON has no NaN or Infinity).
function expectJsonSafe(value: unknown): void {
  expect(JSON.parse(JSON.stringify(value))).toEqual(value);
  const walk = (v: unknown): void => {
    if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
}

describe('judgeWindow', () => {
  describe('insufficient data', () => {
    it('does not judge a treatment with fewer than minRequests requests, however bad it looks', () => {
      const verdict = judge({ treatment: arm({ requests: 150, failures: 150, latenciesMs: spread(150, 5000, 9000) }) });
      expect(verdict.outcome).toBe('insufficient_data');
      expect(verdict.severe).toBe(false);
      expect(verdict.reasons).toEqual(['treatment has 150 requests in the window, fewer than the 200 needed']);
      expect(verdict.checks).toEqual([
        { name: 'treatment_requests', passed: false, value: 150, threshold: 200, detail: verdict.reasons[0] },
        { name: 'control_requests', passed: true, value: 1000, threshold: 200 },
      ]);
      expect(verdict.evidence.errorRateTest).toBeNull();
      expect(verdict.evidence.latencyTest).toBeNull();
      expect(verdict.evidence.treatment.failureRate).toBe(1);
    });

    it('needs the control to have minRequests too when comparing with it', () => {
      const verdict = judge({ control: arm({ requests: 199, failures: 0 }) });
      expect(verdict.outcome).toBe('insufficient_data');
      expect(verdict.reasons).toEqual(['control has 199 requests in the window, fewer than the 200 needed']);
    });

    it('ignores the control size when nothing consults the control', () => {
      const verdict = judge({
        control: arm({ requests: 0, failures: 0, latenciesMs: [], costUsd: 0 }),
        analysis: { compareToControl: false },
      });
      expect(verdict.outcome).toBe('pass');
      expect(verdict.checks.map((c) => c.name)).not.toContain('control_requests');
      expect(verdict.evidence.control).toEqual({
        requests: 0,
        failures: 0,
        failureRate: null,
        latencyMs: null,
        costPerRequestUsd: null,
      });
      expectJsonSafe(verdict);
    });

    it('needs the control to have minRequests when a cost ratio consults it', () => {
      const verdict = judge({
        control: arm({ requests: 10, failures: 0 }),
        analysis: { compareToControl: false, maxCostRatioToControl: 1.5 },
      });
      expect(verdict.outcome).toBe('insufficient_data');
    });

    it('counts exactly minRequests as enough', () => {
      expect(
        judge({ treatment: arm({ requests: 200, failures: 1 }), control: arm({ requests: 200, failures: 1 }) }).outcome,
      ).toBe('pass');
    });
  });

  describe('pass', () => {
    it('passes a healthy treatment and shows its numbers', () => {
      const verdict = judge();
      expect(verdict.outcome).toBe('pass');
      expect(verdict.severe).toBe(false);
      expect(verdict.reasons).toEqual(['all 4 checks passed']);
      expect(verdict.checks).toEqual([
        { name: 'treatment_requests', passed: true, value: 1000, threshold: 200 },
        { name: 'control_requests', passed: true, value: 1000, threshold: 200 },
        { name: 'error_rate', passed: true, value: 0.005, threshold: 0.02 },
        { name: 'p99_latency', passed: true, value: expect.closeTo(694, 9), threshold: 2000 },
      ]);
      const { treatment, errorRateTest, latencyTest } = verdict.evidence;
      expect(treatment).toEqual({
        requests: 1000,
        failures: 5,
        failureRate: 0.005,
        latencyMs: {
          avg: expect.closeTo(400, 9),
          p50: expect.closeTo(400, 9),
          p95: expect.closeTo(670, 9),
          p99: expect.closeTo(694, 9),
        },
        costPerRequestUsd: 0.001,
      });
      expect(errorRateTest?.pValue).toBe(0.5);
      expect(latencyTest?.effectSize).toBe(0.5);
      expectJsonSafe(verdict);
    });

    it('passes a treatment that is worse than the control but within every gate', () => {
      // 1.5% vs 0.1% is significant, but the gate is 2%: significance alone never fails a treatment.
      const verdict = judge({ treatment: arm({ failures: 15 }), control: arm({ failures: 1 }) });
      expect(verdict.evidence.errorRateTest!.pValue).toBeLessThan(0.05);
      expect(verdict.outcome).toBe('pass');
    });
  });

  describe('error rate', () => {
    it('fails a treatment over the gate and significantly worse than the control', () => {
      const verdict = judge({ treatment: arm({ failures: 35 }) }); // 3.5% vs 0.5%
      expect(verdict.outcome).toBe('fail');
      expect(verdict.severe).toBe(false);
      expect(verdict.reasons).toEqual(['treatment error rate 3.5% > 2.0% and worse than control 0.5% (p<0.0001)']);
      expect(check(verdict, 'error_rate')).toEqual({
        name: 'error_rate',
        passed: false,
        value: 0.035,
        threshold: 0.02,
        detail: verdict.reasons[0],
      });
    });

    it('holds when the control fails just as often: a provider outage must not roll back the treatment', () => {
      const verdict = judge({ treatment: arm({ failures: 60 }), control: arm({ failures: 55 }) });
      expect(verdict.outcome).toBe('hold');
      expect(verdict.severe).toBe(false); // 6% is past 2 × 2%, but a held gate is never severe
      expect(verdict.reasons).toEqual([
        'treatment error rate 6.0% > 2.0%, but not significantly worse than control 5.5% (p=0.3155): control is unhealthy too, holding',
      ]);
      expect(check(verdict, 'error_rate').passed).toBe(false);
    });

    it('holds while the difference from a healthy control is not yet significant', () => {
      const verdict = judge({
        treatment: arm({ requests: 200, failures: 5 }), // 2.5%
        control: arm({ requests: 200, failures: 3 }), // 1.5%
      });
      expect(verdict.outcome).toBe('hold');
      expect(verdict.reasons).toEqual([
        'treatment error rate 2.5% > 2.0%, but not significantly worse than control 1.5% (p=0.2375): holding until the difference is clear',
      ]);
    });

    it('fails on the gate alone without compareToControl, even when the control is as bad', () => {
      const verdict = judge({
        treatment: arm({ failures: 30 }),
        control: arm({ failures: 30 }),
        analysis: { compareToControl: false },
      });
      expect(verdict.outcome).toBe('fail');
      expect(verdict.reasons).toEqual(['treatment error rate 3.0% > 2.0%']);
      expect(verdict.evidence.errorRateTest).toBeNull();
      expect(verdict.evidence.latencyTest).toBeNull();
    });

    it('does not fail a rate exactly at the during-stage limit', () => {
      expect(judge({ treatment: arm({ failures: 20 }), analysis: { compareToControl: false } }).outcome).toBe('pass');
    });
  });

  describe('latency', () => {
    it('fails a treatment whose p99 is over the gate and which is slower than the control', () => {
      const verdict = judge({ treatment: arm({ latenciesMs: spread(1000, 500, 3000) }) });
      expect(verdict.outcome).toBe('fail');
      expect(verdict.severe).toBe(false); // 2975 ms is not past 2 × 2000 ms
      expect(verdict.reasons).toEqual([
        'treatment p99 latency 2975 ms > 2000 ms and slower than control p99 694 ms (p<0.0001)',
      ]);
      expect(check(verdict, 'p99_latency')).toMatchObject({
        passed: false,
        value: expect.closeTo(2975, 9),
        threshold: 2000,
      });
      expect(verdict.evidence.latencyTest!.effectSize).toBeGreaterThan(0.9);
    });

    it('holds when the control is just as slow', () => {
      const slow = spread(1000, 500, 3000);
      const verdict = judge({
        treatment: arm({ latenciesMs: slow }),
        control: arm({ latenciesMs: [...slow].reverse() }),
      });
      expect(verdict.outcome).toBe('hold');
      expect(verdict.reasons).toEqual([
        'treatment p99 latency 2975 ms > 2000 ms, but not significantly slower than control p99 2975 ms (p=0.5000): control is unhealthy too, holding',
      ]);
    });

    it('holds when the control has no latency samples to compare with', () => {
      const verdict = judge({
        treatment: arm({ latenciesMs: spread(1000, 500, 3000) }),
        control: arm({ latenciesMs: [] }),
      });
      expect(verdict.outcome).toBe('hold');
      expect(verdict.reasons[0]).toBe(
        'treatment p99 latency 2975 ms > 2000 ms, but not significantly slower than control with no latency samples (p=1.0000): holding until the difference is clear',
      );
    });

    it('passes the latency gates, saying so, when the treatment has no latency samples', () => {
      const verdict = judge({ treatment: arm({ latenciesMs: [] }), atStageEnd: true });
      expect(verdict.outcome).toBe('pass');
      expect(check(verdict, 'p99_latency')).toEqual({
        name: 'p99_latency',
        passed: true,
        value: null,
        threshold: 2000,
        detail: 'no latency samples in the window',
      });
      expect(check(verdict, 'stage_end_avg_latency').value).toBeNull();
      expect(verdict.evidence.treatment.latencyMs).toBeNull();
      expectJsonSafe(verdict);
    });
  });

  describe('stage end', () => {
    // avg 600 ms, p99 796 ms: fine during the stage, too slow to advance.
    const slowish = arm({ latenciesMs: spread(1000, 400, 800) });

    it('applies the stricter gates only at the end of a stage', () => {
      expect(judge({ treatment: slowish }).outcome).toBe('pass');
      const verdict = judge({ treatment: slowish, atStageEnd: true });
      expect(verdict.outcome).toBe('fail');
      expect(verdict.reasons).toEqual([
        'at stage end, treatment avg latency 600 ms is not below 500 ms and slower than control avg 400 ms (p<0.0001)',
      ]);
      expect(verdict.checks.map((c) => c.name)).toEqual([
        'treatment_requests',
        'control_requests',
        'error_rate',
        'p99_latency',
        'stage_end_error_rate',
        'stage_end_avg_latency',
      ]);
    });

    it('fails a stage-end error rate that is fine during the stage', () => {
      const verdict = judge({ treatment: arm({ failures: 15 }), control: arm({ failures: 1 }), atStageEnd: true });
      expect(verdict.outcome).toBe('fail');
      expect(verdict.reasons).toEqual([
        'at stage end, treatment error rate 1.5% is not below 1.0% and worse than control 0.1% (p=0.0002)',
      ]);
    });

    it('requires a value strictly below the stage-end limit', () => {
      const verdict = judge({
        treatment: arm({ failures: 10 }),
        atStageEnd: true,
        analysis: { compareToControl: false },
      });
      expect(verdict.outcome).toBe('fail');
      expect(check(verdict, 'stage_end_error_rate')).toMatchObject({ passed: false, value: 0.01, threshold: 0.01 });
    });

    it('holds at stage end when the control is just as slow', () => {
      const verdict = judge({ treatment: slowish, control: slowish, atStageEnd: true });
      expect(verdict.outcome).toBe('hold');
      expect(verdict.reasons).toEqual([
        'at stage end, treatment avg latency 600 ms is not below 500 ms, but not significantly slower than control avg 600 ms (p=0.5000): control is unhealthy too, holding',
      ]);
    });
  });

  describe('cost', () => {
    it('fails a cost per request over the absolute limit, with no test needed', () => {
      const verdict = judge({
        treatment: arm({ costUsd: 3 }),
        control: arm({ costUsd: 3 }),
        analysis: { maxCostPerRequestUsd: 0.002 },
      });
      expect(verdict.outcome).toBe('fail');
      expect(verdict.severe).toBe(false);
      expect(verdict.reasons).toEqual(['treatment cost per request $0.00300 > $0.00200']);
      expect(check(verdict, 'cost_per_request')).toMatchObject({ passed: false, value: 0.003, threshold: 0.002 });
    });

    it('fails a cost per request over the allowed multiple of the control', () => {
      const verdict = judge({
        treatment: arm({ costUsd: 2 }),
        control: arm({ costUsd: 1 }),
        analysis: { maxCostRatioToControl: 1.5 },
      });
      expect(verdict.outcome).toBe('fail');
      expect(verdict.reasons).toEqual(["treatment cost per request $0.00200 > 1.5× control's $0.00100"]);
      expect(check(verdict, 'cost_ratio_to_control')).toMatchObject({ passed: false, value: 0.002, threshold: 0.0015 });
      const atTheLimit = judge({
        treatment: arm({ costUsd: 1.5 }),
        control: arm({ costUsd: 1 }),
        analysis: { maxCostRatioToControl: 1.5 },
      });
      expect(atTheLimit.outcome).toBe('pass');
    });

    it('fails any cost against a free control without producing an infinite ratio', () => {
      const verdict = judge({
        treatment: arm({ costUsd: 0.5 }),
        control: arm({ costUsd: 0 }),
        analysis: { maxCostRatioToControl: 2 },
      });
      expect(verdict.outcome).toBe('fail');
      expect(check(verdict, 'cost_ratio_to_control')).toMatchObject({ value: 0.0005, threshold: 0 });
      expectJsonSafe(verdict);
    });
  });

  describe('severity and precedence', () => {
    it('marks a failure past severeFactor × the limit as severe', () => {
      const errors = judge({ treatment: arm({ failures: 60 }) }); // 6% > 2 × 2%
      expect(errors.outcome).toBe('fail');
      expect(errors.severe).toBe(true);
      expect(errors.reasons).toEqual([
        'treatment error rate 6.0% > 2.0% and worse than control 0.5% (p<0.0001) (severe: more than 2× the limit)',
      ]);

      const latency = judge({ treatment: arm({ latenciesMs: spread(1000, 1000, 5000) }) }); // p99 4960 > 4000
      expect(latency.severe).toBe(true);

      const cost = judge({ treatment: arm({ costUsd: 3.5 }), analysis: { maxCostRatioToControl: 1.5 } }); // 0.0035 > 2 × 0.0015
      expect(cost.severe).toBe(true);
    });

    it('follows severeFactor', () => {
      const verdict = judge({ treatment: arm({ failures: 60 }), analysis: { severeFactor: 4 } }); // 6% < 4 × 2%
      expect(verdict.outcome).toBe('fail');
      expect(verdict.severe).toBe(false);
    });

    it('lets fail win over hold, and reports both', () => {
      const slow = spread(1000, 500, 3000);
      const verdict = judge({
        treatment: arm({ failures: 35, latenciesMs: slow }),
        control: arm({ latenciesMs: slow }), // just as slow: the latency gate holds
      });
      expect(verdict.outcome).toBe('fail');
      expect(verdict.reasons).toHaveLength(2);
      expect(verdict.reasons[0]).toMatch(/^treatment error rate 3\.5% > 2\.0% and worse/);
      expect(verdict.reasons[1]).toMatch(/holding$/);
    });

    it('is severe only through a failing gate, not a held one', () => {
      const verdict = judge({
        treatment: arm({ failures: 35, latenciesMs: spread(1000, 1000, 5000) }),
        control: arm({ latenciesMs: spread(1000, 1000, 5000) }),
      });
      expect(verdict.outcome).toBe('fail');
      expect(verdict.severe).toBe(false); // p99 4960 ms is past 2 × 2000 ms, but that gate held
    });
  });

  describe('evidence', () => {
    it('is JSON-serialisable with no NaN or Infinity on every path', () => {
      const verdicts = [
        judge(),
        judge({ treatment: arm({ requests: 0, failures: 0, latenciesMs: [], costUsd: 0 }) }),
        judge({ treatment: arm({ failures: 1000 }), control: arm({ failures: 1000 }) }),
        judge({
          treatment: arm({ failures: 0, latenciesMs: [] }),
          control: arm({ failures: 0, latenciesMs: [] }),
          atStageEnd: true,
        }),
        judge({
          treatment: arm({ latenciesMs: spread(1000, 500, 3000), costUsd: 9 }),
          analysis: { maxCostPerRequestUsd: 0.001, maxCostRatioToControl: 2 },
        }),
      ];
      expect(verdicts.map((v) => v.outcome)).toEqual(['pass', 'insufficient_data', 'hold', 'pass', 'fail']);
      for (const verdict of verdicts) expectJsonSafe(verdict);
    });

    it('does not change its input', () => {
      const latencies = [300, 100, 200, ...spread(997, 100, 700)];
      const before = [...latencies];
      judge({ treatment: arm({ latenciesMs: latencies }) });
      expect(latencies).toEqual(before);
    });
  });

  describe('bad input', () => {
    it('throws on an invalid analysis', () => {
      expect(() => judge({ analysis: { maxErrorRate: 2 } })).toThrow(
        /invalid canary analysis: maxErrorRate must be a number between 0 and 1, got 2/,
      );
    });

    it('throws on impossible arm numbers', () => {
      expect(() => judge({ treatment: arm({ failures: 1001 }) })).toThrow(RangeError);
      expect(() => judge({ control: arm({ requests: -1 }) })).toThrow(RangeError);
      expect(() => judge({ treatment: arm({ costUsd: Number.NaN }) })).toThrow(RangeError);
      expect(() => judge({ treatment: arm({ latenciesMs: [1, Number.NaN] }) })).toThrow(RangeError);
    });
  });
});

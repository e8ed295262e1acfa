import { DEFAULT_CANARY_ANALYSIS } from '@switchyard/stats';
import { summarize } from './report';
import { runCanary } from './run-canary';
import { SCENARIOS, type Scenario } from './scenarios';

/*
 * A small, fixed-seed version of `npm run sim:canary` (the full table is in the README): whole
 * canaries on simulated traffic at 100 requests/s, with the default analysis and stage plan,
 * decided by the real engine. It fails when the A/A false-rollback rate exceeds the configured
 * alpha, or when a planted regression goes unnoticed.
 */
const scenario = (id: string): Scenario => SCENARIOS.find((s) => s.id === id)!;
const runs = (id: string, seeds: number[]) => seeds.map((seed) => runCanary({ scenario: scenario(id), seed }));

describe('Monte Carlo of the canary engine (fixed seeds, default analysis and stages)', () => {
  it('does not roll back identical arms more often than alpha, and promotes them', () => {
    const results = runs('aa', [101, 102, 103, 104, 105, 106, 107, 108, 109, 110]);
    const summary = summarize(scenario('aa'), results);
    expect(summary.rolledBack / summary.runs).toBeLessThanOrEqual(DEFAULT_CANARY_ANALYSIS.alpha);
    expect(summary.promoted).toBeGreaterThanOrEqual(9);
    // Promoted after the whole plan: 1 h + 1 h + 2 h + 2 h, give or take a held tick.
    for (const result of results.filter((r) => r.end === 'promoted'))
      expect(result.seconds).toBeGreaterThanOrEqual(6 * 3600);
  }, 120_000);

  it('rolls back a planted error regression early, on the error rate', () => {
    const results = runs('errors', [201, 202, 203, 204, 205]);
    for (const result of results) {
      expect(result).toMatchObject({ end: 'rolled_back', metrics: expect.arrayContaining(['errorRate']) });
      expect(result.stage).toBeLessThan(2);
    }
  }, 60_000);

  it('rolls back a planted conversion drop (10% -> 8%) on the conversion metric, before 100%', () => {
    for (const result of runs('conversion-drop', [401, 402, 403])) {
      expect(result).toMatchObject({ end: 'rolled_back', metrics: ['conversion'] });
      expect(result.stage).toBeLessThan(4);
    }
  }, 60_000);

  it('never promotes an error rate 5 pp worse at 20 requests/s with minute stages, which no stage can prove', () => {
    const results = runs('low-errors', [501, 502, 503, 504, 505, 506, 507, 508, 509, 510]);
    expect(results.filter((r) => r.end === 'promoted')).toEqual([]);
    // Most are caught once the last stage's extensions bring the requests to prove it.
    expect(results.filter((r) => r.end === 'rolled_back').length).toBeGreaterThanOrEqual(7);
  }, 60_000);

  it('pauses, never rolls back, on a sample-ratio mismatch', () => {
    for (const result of runs('srm', [301, 302])) expect(result).toMatchObject({ end: 'paused', outcome: 'srm' });
  }, 60_000);
});

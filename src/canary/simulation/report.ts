import type { RunResult } from './run-canary';
import type { Scenario } from './scenarios';

/** One row of the Monte Carlo table: how a scenario's simulated canaries ended. */
export interface ScenarioSummary {
  scenario: Scenario;
  runs: number;
  rolledBack: number;
  paused: number;
  promoted: number;
  /** Rollbacks in stage 1 or 2 (5% or 15%), before the 35% stage. */
  rolledBackEarly: number;
  /** Pauses for a sample-ratio mismatch. */
  pausedForSrm: number;
  medianMinutesToRollback: number | null;
  medianMinutesToPause: number | null;
  /** Of the rollbacks, how many each metric caused (a rollback may name several). */
  rollbackMetrics: Record<string, number>;
  /** Whether the row meets its target. */
  met: boolean;
}

export function summarize(scenario: Scenario, results: readonly RunResult[]): ScenarioSummary {
  const rolledBack = results.filter((r) => r.end === 'rolled_back');
  const paused = results.filter((r) => r.end === 'paused');
  const rollbackMetrics: Record<string, number> = {};
  for (const result of rolledBack)
    for (const metric of result.metrics) rollbackMetrics[metric] = (rollbackMetrics[metric] ?? 0) + 1;
  const summary: ScenarioSummary = {
    scenario,
    runs: results.length,
    rolledBack: rolledBack.length,
    paused: paused.length,
    promoted: results.filter((r) => r.end === 'promoted').length,
    rolledBackEarly: rolledBack.filter((r) => r.stage < 2).length,
    pausedForSrm: paused.filter((r) => r.outcome === 'srm').length,
    medianMinutesToRollback: median(rolledBack.map((r) => r.seconds / 60)),
    medianMinutesToPause: median(paused.map((r) => r.seconds / 60)),
    rollbackMetrics,
    met: false,
  };
  summary.met = meetsTarget(summary);
  return summary;
}

/** The targets (and, for the extra rows, what the design promises). */
function meetsTarget(s: ScenarioSummary): boolean {
  const share = (count: number) => count / Math.max(1, s.runs);
  switch (s.scenario.id) {
    case 'aa':
      return share(s.rolledBack) <= 0.01 && share(s.paused) <= 0.02;
    case 'errors':
      return share(s.rolledBack) >= 0.95 && share(s.rolledBackEarly) >= 0.8;
    case 'p99':
    case 'median':
    case 'stalls':
      return share(s.rolledBack) >= 0.9;
    case 'outage':
      return s.rolledBack === 0;
    case 'srm':
      return share(s.pausedForSrm) >= 0.95;
    case 'at-margin':
      return share(s.rolledBack) <= 0.05;
    case 'conversion-aa':
      return share(s.rolledBack) <= 0.01;
    case 'conversion-drop':
      return share(s.rolledBack) >= 0.8 && (s.rollbackMetrics.conversion ?? 0) === s.rolledBack;
    case 'low-aa':
      return share(s.rolledBack) <= 0.01;
    case 'low-errors':
      return share(s.promoted) <= 0.05;
    case 'low-errors-2pp':
      return share(s.promoted) <= 0.2;
    case 'p99-better':
      return !Object.keys(s.rollbackMetrics).some((metric) => metric.startsWith('latency'));
    default:
      return true;
  }
}

export function markdownTable(summaries: readonly ScenarioSummary[]): string {
  const percent = (count: number, runs: number) => `${((100 * count) / Math.max(1, runs)).toFixed(1)}%`;
  const minutes = (value: number | null) => (value === null ? '–' : `${Math.round(value)} min`);
  const lines = [
    '| scenario | runs | rolled back | before 35% | paused (SRM) | promoted | median time to rollback | target | met |',
    '|---|---:|---:|---:|---:|---:|---:|---|:---:|',
  ];
  for (const s of summaries) {
    lines.push(
      `| ${s.scenario.title} | ${s.runs} | ${percent(s.rolledBack, s.runs)} | ${percent(s.rolledBackEarly, s.runs)} | ` +
        `${percent(s.paused, s.runs)} (${percent(s.pausedForSrm, s.runs)}) | ${percent(s.promoted, s.runs)} | ` +
        `${minutes(s.medianMinutesToRollback)} | ${s.scenario.target} | ${s.met ? 'yes' : '**no**'} |`,
    );
  }
  return lines.join('\n');
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

import type { writeTestCatalog } from './test-app';

/** The shadow stages' candidate model in tests. */
export const CANDIDATE_MODEL = 'deepseek-v3.3';

/** The candidate: a model of the same price as the control's, with a simulator profile of its own. */
export function withCandidate(catalog: Parameters<Parameters<typeof writeTestCatalog>[0] & object>[0]): void {
  catalog.models.push({
    ...catalog.models.find((model) => model.id === 'deepseek-v3.2')!,
    id: CANDIDATE_MODEL,
    upstreamModel: CANDIDATE_MODEL,
  });
  const profiles = catalog.simulator.profiles as Record<string, unknown>;
  // Latency both sides can be compared on: a few tens of ms, above the noise of a loaded machine.
  profiles['deepseek-v3.2'] = { latencyMs: { median: 20, p99: 40 }, tokensPerSecond: 0 };
  profiles[CANDIDATE_MODEL] = { latencyMs: { median: 20, p99: 40 }, tokensPerSecond: 0 };
}

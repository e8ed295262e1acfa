import { request } from 'undici';
import type { Check, Report } from './report';
import type { StartedTarget } from './targets';
import { FLAG } from './servers';

/**
 * (#16) The gateway with a 100% shadow stage on the bench flag: every request is answered by the
 * control, then copied to the candidate (the flag's treatment) after its answer. What it must not
 * do is slow the users' answers down: its added p99 at the fixed rate within 1 ms of the plain
 * gateway's, in the same run; and the shadow calls must really happen (counted in /metrics).
 */

/** The added p99 a 100% shadow stage may cost the users, at the fixed rate. */
const ADDED_P99_BUDGET_MS = 1;

/** A canary whose shadow stage copies every request for the whole run, with room to spare in spend and concurrency. */
const SHADOW_CANARY = {
  flagKey: FLAG.key,
  variant: 'treatment',
  shadow: { percentage: 100, durationSeconds: 30 * 86_400, maxSpendUsd: 1_000_000, maxConcurrency: 1000 },
  stages: [
    { percentage: 5, durationSeconds: 86_400 },
    { percentage: 100, durationSeconds: 0 },
  ],
};

export async function createBenchShadow(gateway: StartedTarget): Promise<string> {
  const response = await request(`http://127.0.0.1:${gateway.port}/api/canaries`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway.adminKey}` },
    body: JSON.stringify(SHADOW_CANARY),
  });
  const text = await response.body.text();
  if (response.statusCode !== 201)
    throw new Error(`POST /api/canaries answered ${response.statusCode}: ${text.slice(0, 200)}`);
  return `canary ${(JSON.parse(text) as { id: string }).id}: a 100% shadow stage on "${FLAG.key}" (users all on the control, every request copied to the treatment)`;
}

/** Shadow calls by result, from the gateway's /metrics. */
async function shadowCalls(gateway: StartedTarget): Promise<Record<string, number>> {
  const response = await request(`http://127.0.0.1:${gateway.port}/metrics`, {
    headers: { authorization: `Bearer ${gateway.adminKey}` },
  });
  const calls: Record<string, number> = {};
  for (const line of (await response.body.text()).split('\n')) {
    const match = /^switchyard_shadow_calls_total\{.*result="([a-z_]+)".*\} (\d+(?:\.\d+)?)$/.exec(line);
    if (match) calls[match[1]] = (calls[match[1]] ?? 0) + Number(match[2]);
  }
  return calls;
}

export async function shadowChecks(gateway: StartedTarget): Promise<(report: Report) => Promise<Check[]>> {
  const before = await shadowCalls(gateway);
  return async (report) => {
    const measured = (id: string) => report.targets.find((t) => t.id === id && t.status === 'measured');
    const [plain, shadowed] = [measured('gateway'), measured('gateway-shadow')];
    const p99 = (target: typeof plain) => target?.openLoop?.latencyMs.p99;
    const [g, s] = [p99(plain), p99(shadowed)];
    const extra = g === undefined || s === undefined ? undefined : s - g;
    const after = await shadowCalls(gateway);
    const delta = (result: string) => (after[result] ?? 0) - (before[result] ?? 0);
    const answered = delta('answered');
    const skipped = delta('skipped_concurrency') + delta('skipped_spend');
    return [
      {
        name: `gateway with a 100% shadow stage: p99 at ${report.settings.ratePerSec} req/s within ${ADDED_P99_BUDGET_MS} ms of the gateway without`,
        value:
          extra === undefined
            ? 'n/a'
            : `${s!.toFixed(2)} vs ${g!.toFixed(2)} ms (${extra >= 0 ? '+' : ''}${extra.toFixed(2)} ms)`,
        limit: `≤ +${ADDED_P99_BUDGET_MS} ms`,
        pass: extra === undefined ? null : extra <= ADDED_P99_BUDGET_MS,
      },
      {
        name: 'gateway with a 100% shadow stage: shadow calls answered during the run (none skipped)',
        value: `${answered} answered, ${delta('failed')} failed, ${skipped} skipped`,
        limit: '> 0 answered, 0 skipped',
        pass: answered > 0 && skipped === 0,
      },
    ];
  };
}

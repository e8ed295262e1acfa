import { request } from 'undici';
import type { Check, Report } from './report';
import type { StartedTarget } from './targets';

/**
 * (#18) The gateway with the bench key under a spend budget: every request then reserves its worst
 * case from the replica's lease and is settled after, as in production. Its own checks: throughput
 * within the noise band of the plain gateway, and no statement on the budget tables per request.
 */

/** Far above what a run spends, so every request is reserved and settled, none refused. */
const BENCH_BUDGET = { scope: 'key', limitUsd: 1_000_000, period: 'day', onExhausted: 'reject' };
/** Within the noise band of (c) when its pooled throughput is at least this share of (c)'s. */
const BUDGET_NOISE_BAND = 0.9;

export async function createBenchBudget(gateway: StartedTarget): Promise<string> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${gateway.adminKey}` };
  const keys = await request(`http://127.0.0.1:${gateway.port}/api/keys`, { headers });
  const listed = (await keys.body.json()) as Array<{ id: string; name: string }>;
  const key = listed.find((candidate) => candidate.name.includes('SWITCHYARD_ADMIN_KEY'));
  if (!key) throw new Error('the bench key is not among the keys: cannot put it under a budget');
  const response = await request(`http://127.0.0.1:${gateway.port}/api/budgets`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ ...BENCH_BUDGET, target: key.id }),
  });
  const text = await response.body.text();
  if (response.statusCode !== 201)
    throw new Error(`POST /api/budgets answered ${response.statusCode}: ${text.slice(0, 200)}`);
  return `bench key under a $${BENCH_BUDGET.limitUsd} per ${BENCH_BUDGET.period} key budget (budget ${(JSON.parse(text) as { id: string }).id})`;
}

/**
 * Statements on the budget tables so far, from Postgres' own table statistics (scans and row
 * changes of budgets, budget_periods, budget_leases, budget_hourly_spend). Undefined when the
 * database cannot be read (DATABASE_URL: external).
 */
async function budgetTableActivity(databaseUrl: string | undefined): Promise<number | undefined> {
  if (!databaseUrl) return undefined;
  const { Client } = await import('pg');
  const client = new Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const { rows } = await client.query(
      `SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0) + n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint AS n
         FROM pg_stat_user_tables WHERE relname LIKE 'budget%'`,
    );
    return Number(rows[0].n);
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function requestsServed(gateway: StartedTarget): Promise<number> {
  const response = await request(`http://127.0.0.1:${gateway.port}/metrics`, {
    headers: { authorization: `Bearer ${gateway.adminKey}` },
  });
  return (await response.body.text())
    .split('\n')
    .filter((line) => line.startsWith('switchyard_requests_total{'))
    .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** Reads the budget tables' activity before the measurements; the returned function judges after them. */
export async function budgetChecks(gateway: StartedTarget): Promise<(report: Report) => Promise<Check[]>> {
  const before = await budgetTableActivity(gateway.databaseUrl);
  const requestsBefore = await requestsServed(gateway);
  return async (report) => {
    const checks: Check[] = [];
    const plain = report.targets.find((t) => t.id === 'gateway' && t.status === 'measured');
    const budgeted = report.targets.find((t) => t.id === 'gateway-budget' && t.status === 'measured');
    const size = report.settings.sizes[0];
    const [g, b] = [plain?.sizes[size]?.rps, budgeted?.sizes[size]?.rps];
    const ratio = g && b !== undefined ? b / g : undefined;
    checks.push({
      name: `gateway with a key budget: throughput within the noise band of the gateway without (≥ ${BUDGET_NOISE_BAND}×, ${size})`,
      value: ratio === undefined ? 'n/a' : `${b!.toFixed(0)} vs ${g!.toFixed(0)} req/s (${ratio.toFixed(2)}×)`,
      limit: `≥ ${BUDGET_NOISE_BAND.toFixed(2)}×`,
      pass: ratio === undefined ? null : ratio >= BUDGET_NOISE_BAND,
    });
    // Postgres publishes a backend's table statistics within about a second of its transactions.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const after = await budgetTableActivity(gateway.databaseUrl);
    const requests = (await requestsServed(gateway)) - requestsBefore;
    const statements = before === undefined || after === undefined ? undefined : after - before;
    checks.push({
      name: 'gateway with a key budget: statements on the budget tables per request (syncs only, none per request)',
      value:
        statements === undefined
          ? 'n/a (external database, or it could not be read)'
          : `${statements} statements for ${requests} requests (${(statements / Math.max(1, requests)).toFixed(4)} per request)`,
      // A query per request would count at least 1 (a scan) per request; syncs every BUDGET_SYNC_MS come to a few hundredths.
      limit: '< 0.25 per request',
      pass: statements === undefined ? null : statements / Math.max(1, requests) < 0.25,
    });
    return checks;
  };
}

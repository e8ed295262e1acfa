import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { request } from 'undici';
import { budgetChecks, createBenchBudget } from './budget-target';
import type { Check, Report } from './report';
import { qualitySignalChecks } from './quality-signals';
import { createBenchShadow, shadowChecks } from './shadow-target';
import { FLAG, GATEWAY_KEY, type GatewayVariant } from './servers';

/**
 * What `npm run bench` measures, side by side in the same interleaved rounds. A target is a name, a
 * kind of server, and for a gateway how it differs from the plain one (environment, catalog, build)
 * plus a setup hook run once it is up (create a flag, a budget, a shadow stage...). Adding a gateway
 * variant is adding an entry to `targetSpecs`: it is started, probed, measured at every prompt size
 * and reported like the others, with its ratio to the bare proxy.
 */
export interface TargetSpec {
  id: string;
  label: string;
  kind: 'simulator' | 'proxy' | 'gateway';
  /** Gateways: environment, catalog edit and build (default: this checkout's dist/). */
  variant?: GatewayVariant;
  /** Gateways: run once the gateway answers; returns a line for the report's notes. */
  setup?: (gateway: StartedTarget) => Promise<string>;
  /** After the last slice, compare its requests with the metric rows written and in Postgres (zero loss). */
  checksIngestion?: boolean;
  /** Off unless named in --only (e.g. variants measured on request). */
  optional?: boolean;
  /** Checks of its own: started before the first slice, judged after the last with the whole report. */
  checks?: (target: StartedTarget) => Promise<(report: Report) => Promise<Check[]>>;
}

export interface StartedTarget {
  port: number;
  /** SWITCHYARD_ADMIN_KEY of every gateway the bench starts. */
  adminKey: string;
  /** Its embedded Postgres (unset with DATABASE_URL). */
  databaseUrl?: string;
}

/** The bench flag (50% of recommendations to the treatment model), through the operator API. */
async function createBenchFlag(gateway: StartedTarget): Promise<string> {
  const response = await request(`http://127.0.0.1:${gateway.port}/api/flags`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway.adminKey}` },
    body: JSON.stringify(FLAG),
  });
  const text = await response.body.text();
  if (response.statusCode === 200 || response.statusCode === 201) return `flag "${FLAG.key}" created (50% treatment)`;
  if (response.statusCode === 409) return `flag "${FLAG.key}" already existed (409)`;
  throw new Error(`POST /api/flags answered ${response.statusCode}: ${text.slice(0, 200)}`);
}

export function targetSpecs(options: { baseline?: string }): TargetSpec[] {
  const specs: TargetSpec[] = [
    { id: 'simulator', label: '(a) simulator direct', kind: 'simulator' },
    { id: 'proxy', label: '(b) bare proxy', kind: 'proxy' },
    {
      id: 'gateway',
      label: '(c) gateway',
      kind: 'gateway',
      setup: createBenchFlag,
      checksIngestion: true,
      checks: qualitySignalChecks,
    },
    {
      id: 'gateway-no-metrics',
      label: '(d) gateway, METRICS_ENABLED=false',
      kind: 'gateway',
      variant: { env: { METRICS_ENABLED: 'false' } },
      setup: createBenchFlag,
    },
    {
      id: 'gateway-budget',
      label: '(f) gateway, key under a spend budget',
      kind: 'gateway',
      setup: async (gateway) => `${await createBenchFlag(gateway)}; ${await createBenchBudget(gateway)}`,
      checks: budgetChecks,
    },
    {
      id: 'gateway-shadow',
      label: '(g) gateway with a 100% shadow stage',
      kind: 'gateway',
      setup: async (gateway) => `${await createBenchFlag(gateway)}; ${await createBenchShadow(gateway)}`,
      checks: shadowChecks,
    },
    // Gateway variants of other issues go here.
  ];
  if (options.baseline) {
    specs.push({
      id: 'baseline',
      label: `(e) gateway at ${baselineName(options.baseline)}`,
      kind: 'gateway',
      variant: { distRoot: resolve(options.baseline) },
      setup: createBenchFlag,
    });
  }
  return specs;
}

/** The commit of the checkout a dist/ folder belongs to, for the report ("gateway at 0704278"). */
export function baselineName(distRoot: string): string {
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dirname(resolve(distRoot)) });
  return commit.status === 0 ? commit.stdout.toString().trim() : resolve(distRoot);
}

export { GATEWAY_KEY };

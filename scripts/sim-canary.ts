/*
 * npm run sim:canary — the Monte Carlo table of the canary decision engine.
 *
 * Simulates whole canaries (the default analysis and stage plan, 100 requests/s on the flag, an
 * hour of history before each; the low-traffic scenarios 20 requests/s and minute-long stages) for
 * every scenario of src/canary/simulation/scenarios.ts, decided
 * by the real code (libs/stats judgeStage, canary-decision.ts decide), and prints how they ended.
 *
 *   --runs N         canaries per scenario (default 500; A/A gets --aa-runs, default 2000)
 *   --aa-runs N
 *   --scenarios a,b  only these scenario ids
 *   --seed S         first seed (default 1); run i of a scenario uses seed S + i
 *   --workers K      worker threads (default: 2)
 *
 * The same seeds give the same table.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { markdownTable, summarize } from '../src/canary/simulation/report';
import { runCanary, type RunResult } from '../src/canary/simulation/run-canary';
import { SCENARIOS, type Scenario } from '../src/canary/simulation/scenarios';

interface Job {
  scenarioId: string;
  seeds: number[];
}

if (!isMainThread) {
  const job = workerData as Job;
  const scenario = SCENARIOS.find((s) => s.id === job.scenarioId)!;
  for (const seed of job.seeds) parentPort!.postMessage(runCanary({ scenario, seed }));
  parentPort!.postMessage('done');
} else {
  void main();
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const runs = Number(args.runs ?? 500);
  const aaRuns = Number(args['aa-runs'] ?? 2000);
  const firstSeed = Number(args.seed ?? 1);
  const workers = Math.max(1, Number(args.workers ?? 2));
  const wanted = args.scenarios?.split(',');
  const scenarios = SCENARIOS.filter((s) => !wanted || wanted.includes(s.id));
  const started = Date.now();
  const summaries = [];
  for (const scenario of scenarios) {
    const count = scenario.id === 'aa' ? aaRuns : runs;
    const seeds = Array.from({ length: count }, (_, i) => firstSeed + i);
    const results = await runInWorkers(scenario, seeds, workers);
    const summary = summarize(scenario, results);
    summaries.push(summary);
    process.stderr.write(
      `${scenario.id}: ${count} runs, ${summary.rolledBack} rolled back, ${summary.paused} paused, ` +
        `${summary.promoted} promoted (${Math.round((Date.now() - started) / 1000)} s) ${JSON.stringify(summary.rollbackMetrics)}\n`,
    );
  }
  console.log(markdownTable(summaries));
}

function runInWorkers(scenario: Scenario, seeds: number[], workers: number): Promise<RunResult[]> {
  const results: RunResult[] = [];
  const shares = Array.from({ length: workers }, (_, w) => seeds.filter((_, i) => i % workers === w));
  return Promise.all(
    shares.map(
      (share) =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(__filename, {
            workerData: { scenarioId: scenario.id, seeds: share } satisfies Job,
          });
          worker.on('message', (message: RunResult | 'done') => {
            if (message === 'done') void worker.terminate().then(() => resolve());
            else results.push(message);
          });
          worker.on('error', reject);
        }),
    ),
  ).then(() => results);
}

function parseArgs(argv: string[]): Record<string, string | undefined> {
  const args: Record<string, string | undefined> = {};
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!match) throw new Error(`unknown argument ${argv[i]} (see the header of scripts/sim-canary.ts)`);
    args[match[1]] = match[2] ?? argv[++i];
  }
  return args;
}

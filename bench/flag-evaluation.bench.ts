import { evaluate } from '../src/flags/flag-evaluator';
import type { FlagDefinition } from '../src/flags/flag.types';

/**
 * Evaluations per second on one core for a flag with two rules and a rollout: the per-request cost
 * the gateway pays for flags (target: over 1 million per second). Run after `npx nest build`:
 * `node dist/bench/flag-evaluation.bench.js`.
 */
const flag: FlagDefinition = Object.freeze<FlagDefinition>({
  key: 'recommendations-model',
  description: 'bench',
  enabled: true,
  variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
  defaultVariant: 'control',
  rollout: { treatment: 1500 },
  rules: [
    {
      name: 'sg-enterprise',
      conditions: [
        { attribute: 'country', operator: 'in', values: ['SG', 'MY'] },
        { attribute: 'tier', operator: 'equals', values: ['enterprise'] },
      ],
      serve: { variant: 'treatment' },
    },
    {
      name: 'beta-half',
      conditions: [{ attribute: 'cohort', operator: 'starts_with', values: ['beta'] }],
      serve: { rollout: { treatment: 5000 } },
    },
  ],
  salt: 'recommendations-model',
  version: 1,
  createdAt: new Date(),
  updatedAt: new Date(),
  archivedAt: null,
});

// A mix where most requests miss both rules and fall to the rollout, as in production traffic.
const USERS = Array.from({ length: 4096 }, (_, i) => `user-${i * 7919}`);
const ATTRIBUTES = [
  { country: 'US', tier: 'free' },
  { country: 'SG', tier: 'enterprise' },
  { country: 'DE', tier: 'pro', cohort: 'beta-2' },
  { country: 'FR', tier: 'free' },
];

export function runFlagEvaluationBench(durationMs = 2000): { evaluationsPerSecond: number; iterations: number } {
  let sink = 0;
  // Warm-up so the JIT has optimised evaluate before we time it.
  for (let i = 0; i < 200_000; i++)
    sink += evaluate(flag, { userId: USERS[i & 4095], attributes: ATTRIBUTES[i & 3] }).bucket;
  let iterations = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(durationMs) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 10_000; i++, iterations++) {
      sink += evaluate(flag, { userId: USERS[iterations & 4095], attributes: ATTRIBUTES[iterations & 3] }).bucket;
    }
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  if (sink === -1) console.log(sink); // keeps the results alive so the loop is not optimised away
  return { evaluationsPerSecond: Math.round(iterations / seconds), iterations };
}

if (require.main === module) {
  const { evaluationsPerSecond, iterations } = runFlagEvaluationBench();
  console.log(
    `flag evaluation (2 rules + rollout): ${evaluationsPerSecond.toLocaleString('en-US')} evaluations/s (${iterations.toLocaleString('en-US')} in ~2 s, one core)`,
  );
}

import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { MetricsWriter } from '../../src/metrics/metrics-writer';
import type { RequestMetric } from '../../src/metrics/request-metric';
import type { TestApp } from './test-app';

/** How one arm's simulated requests behave. */
export interface SyntheticArm {
  variant: string;
  model: string;
  /** Default 0.5%. */
  errorRate?: number;
  /** Default 500 ms, log-normal with σ 0.45, and 1% of requests 2–5× slower: realistic LLM latencies. */
  medianMs?: number;
  /** Share of requests the client abandons before the first byte, after waiting 20–30 s. */
  abandonRate?: number;
  invalidRate?: number;
}

export interface SyntheticWindow {
  flag: string;
  /** Rows' times are spread evenly over [from, to). */
  from: Date;
  to: Date;
  requests: number;
  /** Requests come from this many users (user-<seed>-<n>), each sticky in its arm. */
  users: number;
  /** The treatment's share of users (0..1): users below it in a fixed order are treatment. */
  treatmentShare: number;
  treatment: SyntheticArm;
  control: SyntheticArm;
  /** Fixes the draws, and the user ids' prefix. */
  seed: number;
}

/**
 * Writes a window of a flag's request_metrics rows through the app's own MetricsWriter (the
 * same INSERT and user-key hashing as the gateway's rows), for canary tests that need hours of
 * realistic traffic on the manual clock without waiting for it. Users are sticky: a user's rank
 * in a fixed permutation puts it in the treatment when below the share, so a rising share only
 * moves users from the control into the treatment, as the flag's rollout does. The rows carry the
 * flag's version as it is when they are written: routed by the weights in force.
 */
export async function writeSyntheticRows(
  app: TestApp,
  window: SyntheticWindow,
): Promise<{ treatment: number; control: number }> {
  const writer = app.app.get(MetricsWriter, { strict: false });
  const [flag]: Array<{ version: number }> = await app.app
    .get(DataSource)
    .query('SELECT version FROM flags WHERE key = $1', [window.flag]);
  const flagVersion = flag?.version ?? null;
  const random = generator(window.seed);
  const span = window.to.getTime() - window.from.getTime();
  const counts = { treatment: 0, control: 0 };
  for (let i = 0; i < window.requests; i++) {
    const user = Math.floor(random.uniform() * window.users);
    const rank = (user * 7919) % window.users;
    const inTreatment = rank < window.treatmentShare * window.users;
    const arm = inTreatment ? window.treatment : window.control;
    counts[inTreatment ? 'treatment' : 'control']++;
    const at = new Date(window.from.getTime() + Math.floor((i * span) / window.requests));
    writer.enqueue(rowOf(window, flagVersion, arm, at, `user-${window.seed}-${user}`, random));
  }
  await writer.flush();
  return counts;
}

function rowOf(
  window: SyntheticWindow,
  flagVersion: number | null,
  arm: SyntheticArm,
  at: Date,
  userId: string,
  random: Generator,
): RequestMetric {
  const stream = random.uniform() < 0.4;
  let latencyMs = (arm.medianMs ?? 500) * Math.exp(0.45 * random.normal());
  if (random.uniform() < 0.01) latencyMs *= 2 + 3 * random.uniform();
  const base: RequestMetric = {
    id: randomUUID(),
    at,
    requestId: randomUUID(),
    policy: 'synthetic',
    flag: window.flag,
    flagVersion,
    variant: arm.variant,
    provider: 'simulated',
    model: arm.model,
    firstModel: arm.model,
    outcome: 'ok',
    httpStatus: 200,
    errorType: null,
    latencyMs,
    upstreamLatencyMs: latencyMs - 2,
    overheadMs: 2,
    ttftMs: stream ? latencyMs * (0.2 + 0.3 * random.uniform()) : null,
    promptTokens: 120,
    completionTokens: 250,
    costUsd: '0.000400000000',
    attempts: 1,
    fallback: false,
    stream,
    apiKeyId: null,
    userId,
    budgetId: null,
    budgetAction: null,
    qualitySignals: 0,
  };
  const u = random.uniform();
  if (u < (arm.invalidRate ?? 0))
    return {
      ...base,
      outcome: 'invalid_request',
      httpStatus: 400,
      errorType: 'invalid_request_error',
      ttftMs: null,
      latencyMs: 40,
      qualitySignals: null,
    };
  if (random.uniform() < (arm.errorRate ?? 0.005)) {
    return {
      ...base,
      outcome: 'upstream_error',
      httpStatus: 502,
      errorType: 'upstream_error',
      ttftMs: null,
      costUsd: null,
      qualitySignals: null,
    };
  }
  if (random.uniform() < (arm.abandonRate ?? 0)) {
    return {
      ...base,
      outcome: 'client_aborted',
      httpStatus: 499,
      ttftMs: null,
      latencyMs: 20_000 + 10_000 * random.uniform(),
      costUsd: null,
      qualitySignals: null,
    };
  }
  return base;
}

interface Generator {
  uniform: () => number;
  normal: () => number;
}

function generator(seed: number): Generator {
  let state = (seed * 2654435761) >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  return { uniform, normal: () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()) };
}

import { DEFAULT_CANARY_ANALYSIS, type CanaryAnalysis } from '@switchyard/stats';
import type { CanaryStage } from '../canary.types';
/*
 * The traffic the Monte Carlo simulates, and the scenarios it plants in it. The reference
 * traffic is what the targets are stated for: 100 requests/s on the flag, realistic LLM
 * latencies (median 500 ms, most between 300 and 800 ms, a long tail), a 0.5% error rate, users
 * who send several requests in a session (and some who send many), 10% of requests without a
 * user id, some users whose prompts fail far more often, some buggy clients that send invalid
 * requests, impatient clients, and provider incidents (short error bursts and slowdowns) that hit
 * both arms alike.
 */
export interface TrafficModel {
  requestsPerSecond: number;
  /** Share of requests that come without a user id (each is its own unit). */
  unkeyedShare: number;
  /** Requests per user session: most users are light, a few heavy (geometric within each class). */
  lightMeanRequests: number;
  heavyMeanRequests: number;
  heavyShare: number;
  /** Mean session length; a session's requests are spread uniformly over it. */
  sessionMeanSeconds: number;
  medianLatencyMs: number;
  /** σ of log latency within a user. */
  latencySigma: number;
  /** σ of a user's own log latency offset (prompt sizes differ by user). */
  userLatencySigma: number;
  /** Share of requests that take 2–5× longer (long generations). */
  slowShare: number;
  streamShare: number;
  errorRate: number;
  /** Users whose requests fail `fragileFactor` times as often as others'. */
  fragileShare: number;
  fragileFactor: number;
  invalidRate: number;
  /** Users whose client sends invalid requests `buggyInvalidRate` of the time. */
  buggyShare: number;
  buggyInvalidRate: number;
  /** Clients that give up early: share of requests, mean wait before giving up. */
  impatientShare: number;
  impatientMeanWaitMs: number;
  /** Provider incidents on both arms: error bursts and slowdowns, Poisson in time. */
  burstsPerHour: number;
  slowdownsPerHour: number;
}

export const REFERENCE_TRAFFIC: Readonly<TrafficModel> = Object.freeze({
  requestsPerSecond: 100,
  unkeyedShare: 0.1,
  lightMeanRequests: 5,
  heavyMeanRequests: 40,
  heavyShare: 0.1,
  sessionMeanSeconds: 1200,
  medianLatencyMs: 500,
  latencySigma: 0.4,
  userLatencySigma: 0.25,
  slowShare: 0.01,
  streamShare: 0.4,
  errorRate: 0.005,
  fragileShare: 0.02,
  fragileFactor: 10,
  invalidRate: 0.002,
  buggyShare: 0.03,
  buggyInvalidRate: 0.3,
  impatientShare: 0.003,
  impatientMeanWaitMs: 2000,
  burstsPerHour: 0.5,
  slowdownsPerHour: 0.33,
});

/** What is planted in the treatment (and, for an outage, in both arms). */
export interface Planted {
  /** The treatment's error rate (the control keeps the model's). */
  errorRate?: number;
  /** Every treatment latency (and time to first token) times this. */
  latencyFactor?: number;
  /** The treatment's tail above the control's p97 stretched so that its p99 is this many times the control's. */
  p99Factor?: number;
  /** Share of treatment requests that never send a first byte: the client waits, then gives up. */
  stallShare?: number;
  /** Share of treatment users (and unkeyed requests) whose rows are lost: a sample-ratio mismatch. */
  dropShare?: number;
  /** A provider outage on both arms, starting at a random time in the first five hours. */
  outage?: { minutes: number; errorRate: number; latencyFactor: number };
  /**
   * Conversions: each user exposed in a stage (their first request of it) converts with the arm's
   * rate, reported as the user-unit outcome metric `conversion`. The attribution window is taken as
   * closed at once (window 0): with a real window each stage lasts that much longer, and the
   * verdicts are the same ones, later.
   */
  conversion?: { control: number; treatment: number };
}

export type Expectation = 'promote' | 'rollback' | 'pause' | 'no_rollback' | 'no_promote';

export interface Scenario {
  id: string;
  title: string;
  planted: Planted;
  expect: Expectation;
  /** The target for this row, as printed in the table. */
  target: string;
  /** Changes to the reference traffic. */
  traffic?: Partial<TrafficModel>;
  /** The analysis instead of the default one (the conversion scenarios gate on the conversion metric). */
  analysis?: CanaryAnalysis;
  /** The stage plan instead of the default one (the low-traffic scenarios run minute-long stages). */
  stages?: readonly CanaryStage[];
}

/** The default analysis gating on conversion as well: at most 2% fewer conversions, relatively. */
export const CONVERSION_ANALYSIS: CanaryAnalysis = Object.freeze({
  ...DEFAULT_CANARY_ANALYSIS,
  outcomes: [
    {
      metric: 'conversion',
      margin: { relative: 0.02 },
      definition: { type: 'binary', direction: 'higher_is_better', unit: 'user', windowSeconds: 0 },
    },
  ],
  primaryOutcome: 'conversion',
}) as CanaryAnalysis;

/*
 * A small service trying a canary quickly: 20 requests/s on the flag, stages of one minute, and
 * the minimum of requests per arm lowered to 30 so that the first stage is judged at all. Each stage
 * sees a few hundred requests: only large regressions can be shown, and the question is what the
 * canary does with a regression it cannot yet show.
 */
const LOW_TRAFFIC: Partial<TrafficModel> = { requestsPerSecond: 20 };
const MINUTE_STAGES: readonly CanaryStage[] = [5, 15, 35, 65].map((percentage) => ({
  percentage,
  durationSeconds: 60,
}));
const LOW_TRAFFIC_ANALYSIS: CanaryAnalysis = Object.freeze({ ...DEFAULT_CANARY_ANALYSIS, minRequests: 30 });
const lowTraffic = { traffic: LOW_TRAFFIC, analysis: LOW_TRAFFIC_ANALYSIS, stages: MINUTE_STAGES };

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'aa',
    title: 'A/A (treatment = control)',
    planted: {},
    expect: 'promote',
    target: 'rollbacks ≤ 1%, pauses ≤ 2%',
  },
  {
    id: 'errors',
    title: 'error rate 0.5% → 3%',
    planted: { errorRate: 0.03 },
    expect: 'rollback',
    target: '≥ 95% rolled back, ≥ 80% before 35%',
  },
  {
    id: 'p99',
    title: 'p99 latency ×2, median unchanged',
    planted: { p99Factor: 2 },
    expect: 'rollback',
    target: '≥ 90% rolled back',
  },
  {
    id: 'median',
    title: 'median latency ×1.5',
    planted: { latencyFactor: 1.5 },
    expect: 'rollback',
    target: '≥ 90% rolled back',
  },
  {
    id: 'stalls',
    title: '10% of requests stall until the client gives up',
    planted: { stallShare: 0.1 },
    expect: 'rollback',
    target: '≥ 90% rolled back',
  },
  {
    id: 'outage',
    title: 'both arms: 15 min outage (30% errors, latency ×1.5)',
    planted: { outage: { minutes: 15, errorRate: 0.3, latencyFactor: 1.5 } },
    expect: 'no_rollback',
    target: 'never rolled back',
  },
  {
    id: 'srm',
    title: '3% of treatment users dropped (SRM)',
    planted: { dropShare: 0.03 },
    expect: 'pause',
    target: '≥ 95% paused',
  },
  {
    id: 'at-margin',
    title: 'error rate +1 pp, exactly the margin',
    planted: { errorRate: 0.015 },
    expect: 'no_rollback',
    target: 'rollbacks ≤ alpha (5%)',
  },
  {
    id: 'conversion-aa',
    title: 'conversion 10% in both arms (A/A on the outcome)',
    planted: { conversion: { control: 0.1, treatment: 0.1 } },
    analysis: CONVERSION_ANALYSIS,
    expect: 'promote',
    target: 'rollbacks ≤ 1%',
  },
  {
    id: 'conversion-drop',
    title: 'conversion 10% → 8% (relative −20%)',
    planted: { conversion: { control: 0.1, treatment: 0.08 } },
    analysis: CONVERSION_ANALYSIS,
    expect: 'rollback',
    target: 'power to catch it before 100%',
  },
  {
    id: 'p99-better',
    title: 'p99 latency ×0.7 (a better tail)',
    planted: { p99Factor: 0.7 },
    expect: 'promote',
    target: 'never rolled back for its tail',
  },
  {
    id: 'low-aa',
    title: '20 requests/s, 1-min stages: A/A',
    planted: {},
    expect: 'promote',
    target: 'rollbacks ≤ 1%',
    ...lowTraffic,
  },
  {
    id: 'low-errors',
    title: '20 requests/s, 1-min stages: error rate 0.5% → 5.5%',
    planted: { errorRate: 0.055 },
    expect: 'no_promote',
    target: 'promoted ≤ 5%',
    ...lowTraffic,
  },
  {
    id: 'low-errors-2pp',
    title: '20 requests/s, 1-min stages: error rate 0.5% → 2.5%',
    planted: { errorRate: 0.025 },
    expect: 'no_promote',
    target: 'promoted ≤ 20%',
    ...lowTraffic,
  },
];

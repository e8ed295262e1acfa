/** The parts of the /api answers the pages read (the full shapes are in /docs). */
export interface Stage {
  percentage: number;
  durationSeconds: number;
}

export interface MetricResult {
  metric: string;
  label: string;
  /** rate, mean or quantile: an outcome metric's unit comes from it. */
  kind?: string;
  against: 'control' | 'limit';
  scale: 'difference' | 'ratio';
  treatment: { estimate: number | null; n: number };
  control: { estimate: number | null; n: number } | null;
  effect: number | null;
  interval: [number | null, number | null] | null;
  margin: number;
  marginType: string;
  pValue: number;
  status: string;
  controlDegraded: boolean;
}

export interface Verdict {
  at: string;
  stage: number;
  percentage: number;
  decision: string;
  outcome: string;
  sentence: string;
  metrics: MetricResult[];
  srm: {
    checked: boolean;
    skipped?: string;
    expectedShare: number | null;
    units: { treatment: number; control: number };
    requests: { treatment: number; control: number };
    pValue: number;
    threshold: number;
    mismatch: boolean;
  };
  n: { treatment: { requests: number; users: number }; control: { requests: number; users: number } | null };
  /** The primary outcome metric (analysis.primaryOutcome): its effect, and cost per outcome per arm. */
  primary?: PrimaryOutcome | null;
}

export interface PrimaryArm {
  estimate: number | null;
  n: number;
  outcomes: number;
  costUsd: number;
  costPerOutcomeUsd: number | null;
}

export interface PrimaryOutcome {
  metric: string;
  label: string;
  scale: 'difference' | 'ratio';
  effect: number | null;
  interval: [number | null, number | null] | null;
  /** The interval's coverage, valid at every look. */
  level: number;
  treatment: PrimaryArm;
  control: PrimaryArm | null;
}

/** The shadow stage's verdict (its `verdict` events carry kind: 'shadow'). */
export interface ShadowVerdict {
  kind: 'shadow';
  at: string;
  outcome: string;
  decision: string;
  sentence: string;
  pairs: number;
  spentUsd: string | null;
  spendExhausted: boolean;
  signals: Array<{
    signal: string;
    status: string;
    estimate: number | null;
    interval: { lower: number; upper: number } | null;
    limit: number | null;
    sentence: string;
  }>;
}

export interface ShadowPlan {
  percentage: number;
  durationSeconds: number;
  maxSpendUsd: number;
  maxConcurrency: number;
  minPairs: number;
  maxLatencyRatio: number;
  maxCostRatio: number;
  minAgreementRate: number | null;
}

export interface ShadowSide {
  variant: string;
  model: string | null;
  outcome: string;
  latencyMs: number | null;
  /** A decimal string, as Postgres keeps it. */
  costUsd: string | null;
  qualitySignals: string[];
  tools: string[];
  answer: string | null;
}

/** One shadow pair (GET /api/canaries/:id/shadow-pairs, admin keys only). */
export interface ShadowPair {
  id: string;
  at: string;
  control: ShadowSide;
  candidate: ShadowSide;
  exactAgreement: boolean | null;
  toolsAgreement: boolean | null;
  disagree: boolean;
}

export interface Canary {
  id: string;
  flagKey: string;
  variant: string;
  controlVariant: string;
  state: string;
  stages: Stage[];
  stage: {
    index: number;
    percentage: number;
    durationSeconds: number;
    startedAt: string;
    elapsedSeconds: number;
  } | null;
  shadow: ShadowPlan | null;
  phase: 'shadow' | 'live';
  shadowStage: { startedAt: string; durationSeconds: number; elapsedSeconds: number } | null;
  analysis: { outcomes?: Array<{ metric: string }>; primaryOutcome?: string };
  lastVerdict: Verdict | null;
  lastTickAt: string | null;
  /** Running, but no tick has judged it for 3 tick periods or more. */
  stalled: {
    since: string;
    missedTicks: number;
    /** The latest tick that failed on it since then: why, and on which replica. */
    lastFailure: { at: string; reason: string; instance: string } | null;
  } | null;
  createdBy: string;
  createdAt: string;
  /** Its last change (an action, a tick's transition); not a verdict. */
  updatedAt: string;
  endedAt: string | null;
}

export interface CanaryEvent {
  id: number;
  at: string;
  type: string;
  state: string;
  phase: 'shadow' | 'live';
  /** An index into the stages; null in the shadow stage. */
  stage: number | null;
  message: string;
  evidence: Record<string, unknown> | null;
  actor: string;
}

export interface Figures {
  requests: number;
  errors: number;
  errorRate: number;
  latencyMs: { avg: number | null; p50: number | null; p95: number | null; p99: number | null };
  costUsd: number;
}

/** The parts of the /api answers the pages read (the full shapes are in /docs). */
export interface Stage {
  percentage: number;
  durationSeconds: number;
}

export interface MetricResult {
  metric: string;
  label: string;
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
  lastVerdict: Verdict | null;
  createdBy: string;
  createdAt: string;
  endedAt: string | null;
}

export interface CanaryEvent {
  id: number;
  at: string;
  type: string;
  state: string;
  stage: number;
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

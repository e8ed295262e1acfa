export { percentile, summarize } from './percentile';
export type { Summary } from './percentile';
export { normalCdf } from './normal';
export { twoProportionTest } from './proportion-test';
export type { FailureCount, TwoProportionResult } from './proportion-test';
export { mannWhitneyU } from './mann-whitney';
export type { MannWhitneyResult } from './mann-whitney';
export { DEFAULT_CANARY_ANALYSIS, resolveCanaryAnalysis } from './canary-analysis';
export type { CanaryAnalysis, CanaryAnalysisInput, ResolvedCanaryAnalysis, StageEndGates } from './canary-analysis';
export { judgeWindow } from './window-verdict';
export type {
  ArmStats,
  ArmWindow,
  LatencyStats,
  VerdictCheck,
  WindowInput,
  WindowOutcome,
  WindowVerdict,
} from './window-verdict';

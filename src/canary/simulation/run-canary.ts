import {
  controlHealthMatters,
  DEFAULT_CANARY_ANALYSIS,
  estimateBeyondMargin,
  judgedMetrics,
  judgeStage,
  planThresholds,
  type CanaryAnalysis,
  type StageInput,
  type StageOutcome,
} from '@switchyard/stats';
import { decide, judgedStageCount, MIN_HOLD_MS, stageTiming, type PreviousLook } from '../canary-decision';
import { plannedRequestsFor } from '../canary-plan';
import { DEFAULT_STAGES, type CanaryStage } from '../canary.types';
import { ArmAccumulator } from './arm-accumulator';
import { ControlHistory } from './control-history';
import { REFERENCE_TRAFFIC, type Scenario } from './scenarios';
import { SimulatedTraffic } from './traffic';

export interface RunOptions {
  scenario: Scenario;
  seed: number;
  analysis?: CanaryAnalysis;
  stages?: readonly CanaryStage[];
  tickSeconds?: number;
  maxStageExtensions?: number;
}

export type RunEnd = 'promoted' | 'rolled_back' | 'paused';

export interface RunResult {
  end: RunEnd;
  /** The stage it ended in (index). */
  stage: number;
  /** Seconds from the canary's start to its end. */
  seconds: number;
  /** The outcome that ended it: fail (rollback), srm, hold or insufficient_data (pause), pass. */
  outcome: StageOutcome;
  /** For a rollback, the metrics beyond their margins; for a pause, those whose estimate stayed past it. */
  metrics: string[];
  /** Looks that held (control degraded). */
  holds: number;
}

const HISTORY_SECONDS = 3600;

/**
 * One canary from start to its end, on simulated traffic, decided by the real code: each tick the
 * arms' windows go through planThresholds and judgeStage (libs/stats), and the verdict through
 * decide() (canary-decision.ts), exactly as the executor does with the windows it reads from
 * Postgres. An hour of the flag's traffic runs before the canary starts (the control's baseline,
 * and what each stage's plan is sized from). Deterministic for a seed.
 */
export function runCanary(options: RunOptions): RunResult {
  const analysis = options.analysis ?? options.scenario.analysis ?? DEFAULT_CANARY_ANALYSIS;
  const stages = options.stages ?? options.scenario.stages ?? DEFAULT_STAGES;
  const tickSeconds = options.tickSeconds ?? 10;
  const maxStageExtensions = options.maxStageExtensions ?? 2;
  const model = { ...REFERENCE_TRAFFIC, ...options.scenario.traffic };
  // Each stage at most its limit, or as long as it may hold through an incident.
  const longest = stages.reduce(
    (sum, stage) => sum + Math.max(stage.durationSeconds * (1 + maxStageExtensions), MIN_HOLD_MS / 1000),
    0,
  );
  const traffic = new SimulatedTraffic(
    model,
    options.scenario.planted,
    options.seed,
    tickSeconds,
    HISTORY_SECONDS + longest,
  );
  const history = new ControlHistory(tickSeconds);
  const metrics = judgedMetrics(analysis);
  const judgedStages = judgedStageCount(stages);

  let tick = 0;
  for (; tick < HISTORY_SECONDS / tickSeconds; tick++) {
    traffic.play(tick, { weight: 0, stageId: 0, treatment: null, control: null, history });
    history.endTick();
  }
  const canaryStartTick = tick;
  let holds = 0;
  for (let stageIndex = 0; stageIndex < stages.length;) {
    const stage = stages[stageIndex];
    const stageStartTick = tick;
    const treatment = new ArmAccumulator();
    const control = stage.percentage < 100 ? new ArmAccumulator() : null;
    const planned = plannedRequestsFor(stage, traffic.requestsInLastHour(), analysis.minRequests);
    const canary = { stages: [...stages], stageIndex, maxStageExtensions };
    const stageStartedAt = new Date(stageStartTick * tickSeconds * 1000);
    let previousLook: PreviousLook | null = null;
    for (;;) {
      traffic.play(tick, { weight: stage.percentage / 100, stageId: stageIndex + 1, treatment, control, history });
      history.endTick();
      tick++;
      const now = new Date(tick * tickSeconds * 1000);
      const timing = stageTiming(canary, stageStartedAt, now, previousLook);
      const treatmentPooled = treatment.pooledView();
      const controlPooled = control?.pooledView() ?? null;
      const plan = planThresholds(metrics, treatmentPooled, controlPooled);
      const input: StageInput = {
        analysis,
        judgedStages,
        plannedRequests: planned,
        treatment: treatment.toWindow(plan.treatment, plan.abandonmentBin),
        control: control?.toWindow(plan.control, plan.abandonmentBin) ?? null,
        plan,
        srm: control ? { expectedShare: stage.percentage / 100 } : { skipped: 'no control arm at 100%' },
        degradation: null,
      };
      // As the executor's StageJudge: the control's windows only when they can change the decision.
      let verdict = judgeStage(input);
      if (control && controlHealthMatters(verdict, timing.atStageEnd)) {
        verdict = judgeStage({
          ...input,
          degradation: { recent: history.recentWindow, baseline: history.baselineWindow },
        });
      }
      const decision = decide(canary, timing, verdict);
      previousLook = { at: now, decision };
      if (decision === 'hold') holds++;
      const end = (result: RunEnd): RunResult => ({
        end: result,
        stage: stageIndex,
        seconds: (tick - canaryStartTick) * tickSeconds,
        outcome: verdict.outcome,
        metrics: verdict.metrics
          .filter(
            (m) => (m.status === 'harm' && !m.controlDegraded) || (result === 'paused' && estimateBeyondMargin(m)),
          )
          .map((m) => m.metric),
        holds,
      });
      if (decision === 'rollback') return end('rolled_back');
      if (decision === 'pause') return end('paused');
      if (decision === 'promote') return end('promoted');
      if (decision === 'advance') {
        stageIndex++;
        break;
      }
    }
  }
  throw new Error('unreachable: the last stage promotes');
}

import { Injectable } from '@nestjs/common';
import {
  controlHealthMatters,
  judgedMetrics,
  judgeStage,
  outcomeCounters,
  planThresholds,
  type ArmBucket,
  type StageInput,
  type StageVerdict,
} from '@switchyard/stats';
import { FlagsService } from '../flags/flags.service';
import { CanaryWindowReader, type ArmWindowQuery } from '../metrics/canary-window-reader';
import { judgedStageCount, type StageTiming } from './canary-decision';
import { expectedTreatmentShare, plannedRequestsFor } from './canary-plan';
import type { CanaryEntity } from './entities/canary.entity';

const HOUR_MS = 3_600_000;

/**
 * Reads a running stage's window the way libs/stats asks for it — pooled counts and histograms
 * per arm, the thresholds they imply, then per-bucket counters — with the control's recent and
 * baseline windows and the flag's weights in force, and judges it (judgeStage). The Monte Carlo
 * simulator feeds the same functions from simulated traffic instead of Postgres.
 */
@Injectable()
export class StageJudge {
  /** Planned requests per canary stage (by its start): fixed once the stage starts, as the tuning must be. */
  private readonly planned = new Map<string, number>();

  constructor(
    private readonly windows: CanaryWindowReader,
    private readonly flags: FlagsService,
  ) {}

  async judge(canary: CanaryEntity, timing: StageTiming, now: Date): Promise<StageVerdict> {
    const from = canary.stageStartedAt!;
    const withControl = timing.stage.percentage < 100;
    const variants = withControl ? [canary.variant, canary.controlVariant] : [canary.variant];
    const query = { flag: canary.flagKey, variants, from, to: now, sinceFlagVersion: canary.stageFlagVersion };
    const [pooled, plannedRequests, flag] = await Promise.all([
      this.windows.pooled(query),
      this.plannedRequests(canary, timing, from),
      this.flags.get(canary.flagKey),
    ]);
    const treatmentPooled = pooled.get(canary.variant)!;
    const controlPooled = withControl ? pooled.get(canary.controlVariant)! : null;
    const plan = planThresholds(judgedMetrics(canary.analysis), treatmentPooled, controlPooled);
    const below = new Map([[canary.variant, plan.treatment]]);
    if (withControl) below.set(canary.controlVariant, plan.control);
    const buckets = await this.windows.buckets(query, plan.abandonmentBin, below);
    await this.addOutcomeCounters(canary, query, buckets);
    const input: StageInput = {
      analysis: canary.analysis,
      judgedStages: judgedStageCount(canary.stages),
      plannedRequests,
      treatment: { pooled: treatmentPooled, buckets: buckets.get(canary.variant)! },
      control: controlPooled ? { pooled: controlPooled, buckets: buckets.get(canary.controlVariant)! } : null,
      plan,
      srm: withControl
        ? expectedTreatmentShare(flag, canary.variant, canary.controlVariant)
        : { skipped: 'no control arm at 100%' },
      degradation: null,
    };
    const verdict = judgeStage(input);
    if (!withControl || !controlHealthMatters(verdict, timing.atStageEnd)) return verdict;
    const degradation = await this.windows.controlWindows(canary.flagKey, canary.controlVariant, now);
    return judgeStage({ ...input, degradation });
  }

  /** Each defined outcome metric the canary gates on: its counters into every arm's buckets. */
  private async addOutcomeCounters(
    canary: CanaryEntity,
    query: ArmWindowQuery,
    buckets: Map<string, ArmBucket[]>,
  ): Promise<void> {
    for (const gate of canary.analysis.outcomes ?? []) {
      if (!gate.definition) continue;
      const counters = outcomeCounters(gate.metric);
      const byVariant = await this.windows.outcomeBuckets(query, { key: gate.metric, ...gate.definition });
      for (const [variant, rows] of byVariant) {
        const arm = buckets.get(variant);
        if (!arm) continue;
        for (const bucket of arm) {
          bucket.counters[counters.n] = 0;
          bucket.counters[counters.sum] = 0;
        }
        for (const row of rows) {
          arm[row.bucket].counters[counters.n] = row.n;
          arm[row.bucket].counters[counters.sum] = row.sum;
        }
      }
    }
  }

  private async plannedRequests(canary: CanaryEntity, timing: StageTiming, stageStart: Date): Promise<number> {
    const key = `${canary.id}@${stageStart.toISOString()}`;
    let planned = this.planned.get(key);
    if (planned === undefined) {
      const lastHour = await this.windows.judgedRequests(
        canary.flagKey,
        new Date(stageStart.getTime() - HOUR_MS),
        stageStart,
      );
      planned = plannedRequestsFor(timing.stage, lastHour, canary.analysis.minRequests);
      // One entry per running canary stage is all that is needed; old stages are never asked again.
      if (this.planned.size > 1000) this.planned.clear();
      this.planned.set(key, planned);
    }
    return planned;
  }
}

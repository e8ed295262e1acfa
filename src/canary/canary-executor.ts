import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { judgeWindow, type CanaryAnalysis, type WindowVerdict } from '@switchyard/stats';
import { DataSource, type EntityManager } from 'typeorm';
import { canaryConfig, type CanaryConfig } from '../config/canary.config';
import { FlagChangeRefused } from '../flags/flag.errors';
import { MetricsQueryService } from '../metrics/metrics-query.service';
import { CanaryService, type CanaryChange } from './canary.service';
import type { CanaryDecision, StoredVerdict } from './canary.types';
import { CanaryEntity } from './entities/canary.entity';
import { Guardrail } from './guardrail';

/** Advisory lock class of canary ticks (the second key is the canary id's hash). */
const CANARY_LOCK_CLASS = 7_305_003;
export const EXECUTOR_ACTOR = 'canary-executor';
const INTERVAL_NAME = 'canary-executor';

/**
 * The scheduled loop that moves canaries. Every CANARY_TICK_SECONDS, for each running canary, under
 * a Postgres advisory lock for that canary (with several replicas, one acts), it reads the current
 * stage's window of request_metrics for treatment and control, judges it (libs/stats) and decides:
 * roll back, advance (or promote), hold, pause for lack of traffic, or wait. All state is in
 * Postgres, so a restarted process picks up the same stage with the same start time; a stage that
 * became overdue while no process ran is judged on its own window before the next begins.
 */
@Injectable()
export class CanaryExecutor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(CanaryExecutor.name);
  private ticking?: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly canaries: CanaryService,
    private readonly metrics: MetricsQueryService,
    private readonly guardrail: Guardrail,
    private readonly scheduler: SchedulerRegistry,
    @Inject(canaryConfig.KEY) private readonly config: CanaryConfig,
  ) {}

  onApplicationBootstrap(): void {
    const timer = setInterval(() => {
      // A slow tick (a big window to read) is never overlapped by the next one in this process.
      this.ticking ??= this.tick().finally(() => (this.ticking = undefined));
    }, this.config.tickMs);
    this.scheduler.addInterval(INTERVAL_NAME, timer);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
    await this.ticking;
  }

  async tick(): Promise<void> {
    try {
      const running: Array<{ id: string }> = await this.dataSource.query(
        `SELECT id FROM canaries WHERE state = 'running' ORDER BY created_at`,
      );
      for (const { id } of running) await this.underLock(id, () => this.judge(id));
      if (this.config.guardrail.enabled) await this.guardrail.watch();
    } catch (error) {
      // The next tick tries again; a canary never advances on a tick that failed.
      this.logger.error(`canary tick failed: ${(error as Error).message}`);
    }
  }

  private async underLock(canaryId: string, work: () => Promise<void>): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = await runner.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [
        CANARY_LOCK_CLASS,
        canaryId,
      ]);
      if (!locked) return;
      try {
        await work();
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1, hashtext($2))', [CANARY_LOCK_CLASS, canaryId]);
      }
    } finally {
      await runner.release();
    }
  }

  private async judge(id: string): Promise<void> {
    const canary = await this.canaries.find(this.dataSource.manager, id);
    if (canary.state !== 'running' || !canary.stageStartedAt) return;
    const now = new Date();
    // Another replica already acted in this tick period; acting again would double-count checks.
    if (canary.lastTickAt && now.getTime() - canary.lastTickAt.getTime() < this.config.tickMs / 2) return;

    const stage = canary.stages[canary.stageIndex];
    const isLast = canary.stageIndex === canary.stages.length - 1;
    const elapsedMs = now.getTime() - canary.stageStartedAt.getTime();
    const durationMs = stage.durationSeconds * 1000;
    const atStageEnd = elapsedMs >= durationMs;
    // At 100% there is no control traffic left to compare with: the treatment is judged on its own.
    const analysis: CanaryAnalysis =
      stage.percentage >= 100
        ? { ...canary.analysis, compareToControl: false, maxCostRatioToControl: null }
        : canary.analysis;
    const window = { from: canary.stageStartedAt, to: now, maxSamples: this.config.maxSamplesPerArm };
    const [treatment, control] = await Promise.all([
      this.metrics.variantWindow({ ...window, flag: canary.flagKey, variant: canary.variant }),
      this.metrics.variantWindow({ ...window, flag: canary.flagKey, variant: canary.controlVariant }),
    ]);
    const verdict = judgeWindow({ treatment, control, analysis, atStageEnd });
    const { decision, failedChecks } = this.decide(canary, verdict, { atStageEnd, elapsedMs, durationMs, isLast });
    const stored: StoredVerdict = {
      at: now.toISOString(),
      stage: canary.stageIndex,
      decision,
      outcome: verdict.outcome,
      severe: verdict.severe,
      reasons: verdict.reasons,
      failedChecks,
      atStageEnd,
      window: { from: window.from.toISOString(), to: now.toISOString() },
      checks: verdict.checks,
      evidence: verdict.evidence,
    };

    try {
      await this.dataSource.transaction(async (manager) => {
        const current = await this.canaries.find(manager, id, true);
        // A manual action (pause, abort...) won the race: this verdict is about a state that is gone.
        if (current.state !== 'running' || current.stageIndex !== canary.stageIndex) return;
        await manager.update(CanaryEntity, { id }, { lastVerdict: stored as never, lastTickAt: now, failedChecks });
        await this.canaries.appendEvent(
          manager,
          current,
          'verdict',
          verdictMessage(stored),
          stored as unknown as Record<string, unknown>,
          EXECUTOR_ACTOR,
        );
        await this.act(manager, { ...current, failedChecks }, decision, stored);
      });
    } catch (error) {
      // The flag refused the weight (archived, or other variants' weights leave no room): retrying
      // every tick would fail the same way, so the canary stops and a person is told.
      if (!(error instanceof FlagChangeRefused)) throw error;
      await this.pauseOnFlagRefusal(id, canary.stageIndex, decision, error.message, stored);
    }
  }

  private async pauseOnFlagRefusal(
    id: string,
    stageIndex: number,
    decision: CanaryDecision,
    refusal: string,
    verdict: StoredVerdict,
  ): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const current = await this.canaries.find(manager, id, true);
      if (current.state !== 'running' || current.stageIndex !== stageIndex) return;
      const message = `could not ${decision} (${verdict.outcome}): the flag refused the weight change: ${refusal}; paused until the flag is fixed`;
      await manager.update(CanaryEntity, { id }, { lastVerdict: verdict as never, lastTickAt: new Date() });
      await this.canaries.applyChange(
        manager,
        current,
        {
          state: 'paused',
          event: { type: 'paused', message, evidence: { verdict, refusal } },
          alert: {
            type: 'canary.paused',
            dedupKey: `canary:${id}:flag-refused:${stageIndex}:${current.stageStartedAt?.toISOString()}`,
            message: `Canary on ${current.flagKey} ${message}`,
            evidence: { refusal, decision },
          },
        },
        EXECUTOR_ACTOR,
      );
    });
  }

  private decide(
    canary: CanaryEntity,
    verdict: WindowVerdict,
    stage: { atStageEnd: boolean; elapsedMs: number; durationMs: number; isLast: boolean },
  ): { decision: CanaryDecision; failedChecks: number } {
    let failedChecks = canary.failedChecks;
    switch (verdict.outcome) {
      case 'fail':
        failedChecks++;
        return {
          decision: verdict.severe || failedChecks >= canary.analysis.failureThreshold ? 'rollback' : 'hold',
          failedChecks,
        };
      case 'hold':
        return { decision: 'hold', failedChecks };
      case 'insufficient_data': {
        const limitMs = stage.durationMs * (1 + canary.maxStageExtensions);
        return { decision: stage.atStageEnd && stage.elapsedMs >= limitMs ? 'pause' : 'wait', failedChecks };
      }
      case 'pass': {
        if (!stage.atStageEnd) return { decision: 'wait', failedChecks };
        const next = canary.stages[canary.stageIndex + 1];
        // A final stage of 0 seconds is "everyone on the treatment": reaching it is the promotion.
        const promote =
          stage.isLast || (canary.stageIndex + 1 === canary.stages.length - 1 && next.durationSeconds === 0);
        return { decision: promote ? 'promote' : 'advance', failedChecks };
      }
    }
  }

  private async act(
    manager: EntityManager,
    canary: CanaryEntity,
    decision: CanaryDecision,
    verdict: StoredVerdict,
  ): Promise<void> {
    const { id, stages, stageIndex, flagKey } = canary;
    const stageName = `stage ${stageIndex + 1}/${stages.length} (${stages[stageIndex].percentage}%)`;
    const evidence = { verdict };
    const reasons = verdict.reasons.join('; ');
    let change: CanaryChange | undefined;
    switch (decision) {
      case 'rollback':
        change = {
          state: 'rolled_back',
          weight: 0,
          event: {
            type: 'rolled_back',
            message: `rolled back in ${stageName}${verdict.severe ? ' at once (severe)' : ` after ${verdict.failedChecks} failed checks`}: ${reasons}`,
            evidence,
          },
          alert: {
            type: 'canary.rolled_back',
            dedupKey: `canary:${id}:rolled_back`,
            message: `Canary on ${flagKey} rolled back in ${stageName}: ${reasons}`,
            evidence,
          },
        };
        break;
      case 'advance': {
        const next = stages[stageIndex + 1];
        const nextName = `stage ${stageIndex + 2}/${stages.length} (${next.percentage}%)`;
        change = {
          stageIndex: stageIndex + 1,
          weight: next.percentage,
          event: { type: 'stage_advanced', message: `${stageName} healthy; advanced to ${nextName}`, evidence },
          alert: {
            type: 'canary.stage_advanced',
            dedupKey: `canary:${id}:stage:${stageIndex + 1}`,
            message: `Canary on ${flagKey} advanced to ${nextName}`,
            evidence,
          },
        };
        break;
      }
      case 'promote':
        change = {
          state: 'promoted',
          stageIndex: stages.length - 1,
          weight: 100,
          event: { type: 'promoted', message: `${stageName} healthy; promoted: treatment at 100%`, evidence },
          alert: {
            type: 'canary.promoted',
            dedupKey: `canary:${id}:promoted`,
            message: `Canary on ${flagKey} promoted: ${canary.variant} serves 100%`,
            evidence,
          },
        };
        break;
      case 'pause':
        change = {
          state: 'paused',
          event: {
            type: 'paused',
            message: `${stageName} still lacks traffic after ${canary.maxStageExtensions} extensions; paused: ${reasons}`,
            evidence,
          },
          alert: {
            type: 'canary.paused',
            dedupKey: `canary:${id}:paused:${stageIndex}:${canary.stageStartedAt?.toISOString()}`,
            message: `Canary on ${flagKey} paused in ${stageName}: not enough traffic to judge (${reasons})`,
            evidence,
          },
        };
        break;
      case 'hold':
        if (verdict.outcome === 'hold') await this.raiseHeld(manager, canary, stageName, reasons, evidence);
        return;
      case 'wait':
        return;
    }
    await this.canaries.applyChange(manager, canary, change, EXECUTOR_ACTOR);
  }

  /** Once per stage: the treatment exceeded a gate but so did the control (or the gap is not clear). */
  private async raiseHeld(
    manager: EntityManager,
    canary: CanaryEntity,
    stageName: string,
    reasons: string,
    evidence: Record<string, unknown>,
  ): Promise<void> {
    const raised = await this.canaries.raiseAlert(manager, canary, {
      type: 'canary.held',
      dedupKey: `canary:${canary.id}:held:${canary.stageIndex}:${canary.stageStartedAt?.toISOString()}`,
      message: `Canary on ${canary.flagKey} holding in ${stageName}: ${reasons}`,
      evidence,
    });
    if (raised)
      await this.canaries.appendEvent(
        manager,
        canary,
        'held',
        `holding in ${stageName}: ${reasons}`,
        evidence,
        EXECUTOR_ACTOR,
      );
  }
}

function verdictMessage(verdict: StoredVerdict): string {
  const why = verdict.reasons.length > 0 ? `: ${verdict.reasons.join('; ')}` : '';
  return `${verdict.outcome} -> ${verdict.decision}${why}`;
}

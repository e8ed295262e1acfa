import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { canaryConfig, type CanaryConfig } from '../config/canary.config';
import { LockKey, tryWithLock } from '../database/advisory-locks';
import { FlagChangeRefused } from '../flags/flag.errors';
import { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { CanariesRepository } from './canaries.repository';
import {
  decideTick,
  pauseOnRefusal,
  slotStartOf,
  stageTimingAt,
  type TickDecision,
  verdictMessage,
} from './canary-decision';
import { CanaryTransitions, INSTANCE_ID } from './canary-transitions';
import { stallOf } from './canary-view';
import type { CanaryEntity } from './entities/canary.entity';
import { StageJudge } from './stage-judge';
import { ShadowJudge } from './shadow-judge';
import type { StoredShadowVerdict } from './shadow-decision';
import type { CanaryChange } from './canary.types';

export const EXECUTOR_ACTOR = 'canary-executor';
/** A failure's reason as kept for the canary's page: the error's first words, not a whole dump. */
const MAX_REASON_LENGTH = 500;

/**
 * One tick for every running canary: under the canary's advisory lock (LockKey.CanaryTick, so one
 * replica at a time works on it), judge the current stage's window (StageJudge: request_metrics
 * aggregates of treatment and control through libs/stats), decide (canary-decision.ts) and apply the decision in one
 * transaction that first claims the tick period on the canary row — however many replicas tick,
 * and whatever their timers' phases, a period gets one verdict. All state is in Postgres, so a
 * restarted process picks up the same stage with the same start time; a stage that became overdue
 * while no process ran is judged on its own window before the next begins.
 */
@Injectable()
export class CanaryExecutor {
  private readonly logger = new Logger(CanaryExecutor.name);
  private readonly failedTicks: Counter<'canary'>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly canaries: CanariesRepository,
    private readonly transitions: CanaryTransitions,
    private readonly stageJudge: StageJudge,
    private readonly shadowJudge: ShadowJudge,
    private readonly clock: Clock,
    @Inject(canaryConfig.KEY) private readonly config: CanaryConfig,
    prometheus: PrometheusMetrics,
  ) {
    this.failedTicks = new Counter({
      name: 'switchyard_canary_tick_failures_total',
      help: 'Canary ticks that failed on this canary: it did not move on them and is judged again at the next tick',
      labelNames: ['canary'],
      registers: [prometheus.registry],
    });
  }

  async tick(): Promise<void> {
    let running: string[];
    try {
      running = await this.canaries.runningIds();
    } catch (error) {
      this.logger.error(`canary tick failed: the running canaries could not be read (${(error as Error).message})`);
      return;
    }
    for (const id of running) {
      try {
        await tryWithLock(this.dataSource, LockKey.CanaryTick, () => this.judge(id), id);
      } catch (error) {
        // The next tick tries again; a canary never advances on a tick that failed. One canary
        // whose tick keeps failing (a row lock held elsewhere, a stage window too large for the
        // statement bound) must not keep the canaries after it from being judged.
        const reason = (error as Error).message.slice(0, MAX_REASON_LENGTH);
        this.failedTicks.inc({ canary: id });
        this.logger.error(`canary ${id}: tick failed (${reason}); it stays as it is until a tick succeeds`);
        await this.reportFailure(id, reason).catch((reportError: Error) =>
          this.logger.warn(`canary ${id}: the tick's failure could not be stored or alerted (${reportError.message})`),
        );
      }
    }
  }

  /**
   * Keeps why the tick failed, for the canary's page (which could otherwise only say that it is
   * stalled), and once it is stalled raises the alert: a canary whose ticks fail can neither roll
   * back nor advance. Plain reads and writes only: the canary's row may be locked elsewhere.
   */
  private async reportFailure(id: string, reason: string): Promise<void> {
    const now = this.clock.now();
    const failure = { reason, instance: INSTANCE_ID };
    await this.canaries.recordTickFailure({ canaryId: id, at: now, ...failure });
    const canary = await this.canaries.find(this.dataSource.manager, id);
    const stall = canary && stallOf(canary, now, this.config.tickMs);
    if (stall) await this.transitions.alertStalled(this.dataSource.manager, canary, stall, failure);
  }

  private async judge(id: string): Promise<void> {
    const canary = await this.canaries.find(this.dataSource.manager, id);
    if (!canary || canary.state !== 'running' || !canary.stageStartedAt) return;
    const now = this.clock.now();
    const slotStart = slotStartOf(now.getTime(), this.config.tickMs);
    // Judged in this period already (here or on another replica): the claim below would refuse anyway.
    if (canary.lastSlotStart && canary.lastSlotStart.getTime() >= slotStart.getTime()) return;

    if (canary.phase === 'shadow' && canary.shadow) {
      const shadow = await this.shadowJudge.judge(canary, now, slotStart);
      await this.applyShadow(canary, shadow.verdict, shadow.change, slotStart, now);
      return;
    }
    const timing = stageTimingAt(canary, canary.stageStartedAt, slotStart, this.config.tickMs);
    const window = { from: canary.stageStartedAt, to: now };
    const verdict = await this.stageJudge.judge(canary, timing, now);
    const decided = decideTick({ canary, timing, verdict, at: now, slotStart, window });
    try {
      await this.apply(canary, decided, slotStart, now);
    } catch (error) {
      if (!(error instanceof FlagChangeRefused)) throw error;
      await this.pauseOnRefusal(canary, decided, slotStart, now, error.message);
    }
  }

  private async apply(canary: CanaryEntity, decided: TickDecision, slotStart: Date, now: Date): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const claim = { id: canary.id, stageIndex: canary.stageIndex, slotStart, at: now, verdict: decided.verdict };
      // Taken by another replica, or a manual action (pause, abort...) changed the stage meanwhile.
      if (!(await this.canaries.claimTick(manager, claim))) return;
      const current = canary;
      const event = {
        type: 'verdict',
        message: verdictMessage(decided.verdict),
        evidence: { ...decided.verdict },
      } as const;
      await this.transitions.appendEvent(manager, current, event, EXECUTOR_ACTOR, now);
      if (decided.change) await this.transitions.apply(manager, current, decided.change, EXECUTOR_ACTOR, now);
      if (decided.notice) await this.transitions.notify(manager, current, decided.notice, EXECUTOR_ACTOR, now);
    });
  }

  /** The shadow stage's verdict, claimed like a live stage's, and what it changes (the first stage's weight...). */
  private async applyShadow(
    canary: CanaryEntity,
    verdict: StoredShadowVerdict,
    change: CanaryChange | undefined,
    slotStart: Date,
    now: Date,
  ): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const claim = { id: canary.id, stageIndex: canary.stageIndex, slotStart, at: now, verdict };
      if (!(await this.canaries.claimTick(manager, claim))) return;
      const event = {
        type: 'verdict',
        message: `shadow ${verdict.outcome} -> ${verdict.decision}: ${verdict.sentence}`,
        evidence: { ...verdict },
      } as const;
      await this.transitions.appendEvent(manager, canary, event, EXECUTOR_ACTOR, now);
      if (change) await this.transitions.apply(manager, canary, change, EXECUTOR_ACTOR, now);
    });
  }

  /** The flag refused the weight the decision needs: the whole tick rolled back; pause and tell a person. */
  private async pauseOnRefusal(
    canary: CanaryEntity,
    decided: TickDecision,
    slotStart: Date,
    now: Date,
    refusal: string,
  ): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const claim = { id: canary.id, stageIndex: canary.stageIndex, slotStart, at: now, verdict: decided.verdict };
      if (!(await this.canaries.claimTick(manager, claim))) return;
      await this.transitions.apply(
        manager,
        canary,
        pauseOnRefusal(canary, decided.verdict, refusal),
        EXECUTOR_ACTOR,
        now,
      );
    });
  }
}

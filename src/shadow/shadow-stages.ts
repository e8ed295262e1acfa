import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Clock, type ScheduledJob } from '../common/clock';
import { SerialReload } from '../common/serial-reload';
import { PostgresListener } from '../database/postgres-listener';
import { type ActiveCanary, ACTIVE_CANARIES_CHANNEL, ActiveCanaries } from '../policies/active-canaries';

/** A safety net under NOTIFY (a connection lost between two changes). */
const FULL_RELOAD_MS = 5_000;

/** A canary whose shadow stage runs: its flag's sampled requests are copied to the candidate. */
export interface ActiveShadow {
  canaryId: string;
  flagKey: string;
  candidate: string;
  control: string;
  percentage: number;
  maxSpendUsd: number;
  maxConcurrency: number;
  /** The sampling salt: distinct from the flag's rollout salt, so the shadowed users are not the first treated ones. */
  salt: string;
}

/**
 * The running shadow stages in memory, by flag: the pipeline's question "is this request's flag in a
 * shadow stage?" is one map lookup. Kept fresh from the active canaries (ActiveCanaries, filled in by
 * the canary module) on every canary change's NOTIFY — a pause or an end on any replica stops the
 * shadow calls here within a second — and every 5 s.
 */
@Injectable()
export class ShadowStages implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ShadowStages.name);
  private byFlag = new Map<string, ActiveShadow>();
  private listening?: { stop: () => void };
  private job?: ScheduledJob;
  private readonly reloads = new SerialReload(
    () => this.canaries.list(),
    (canaries) => (this.byFlag = shadowStagesOf(canaries)),
  );

  constructor(
    private readonly canaries: ActiveCanaries,
    private readonly clock: Clock,
    private readonly listener: PostgresListener,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.reload();
    this.listening = await this.listener.listen({
      channel: ACTIVE_CANARIES_CHANNEL,
      onNotification: () => void this.reload(),
      onReconnected: () => this.reload(),
    });
    this.job = this.clock.every('shadow-stages', FULL_RELOAD_MS, () => this.reload());
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job?.stop();
    this.listening?.stop();
  }

  /** The shadow stage running on `flagKey`, if any. */
  of(flagKey: string): ActiveShadow | undefined {
    return this.byFlag.size === 0 ? undefined : this.byFlag.get(flagKey);
  }

  get size(): number {
    return this.byFlag.size;
  }

  /** Resolves once a load started after this call is applied; a failure is logged (the last stages stay). */
  reload(): Promise<void> {
    return this.reloads
      .reload()
      .catch((error: unknown) => this.logger.warn(`shadow stages not reloaded: ${(error as Error).message}`));
  }
}

function shadowStagesOf(canaries: ActiveCanary[]): Map<string, ActiveShadow> {
  const stages = new Map<string, ActiveShadow>();
  for (const canary of canaries) {
    if (canary.state !== 'running' || canary.phase !== 'shadow' || !canary.shadow) continue;
    stages.set(canary.flagKey, {
      canaryId: canary.id,
      flagKey: canary.flagKey,
      candidate: canary.variant,
      control: canary.controlVariant,
      percentage: canary.shadow.percentage,
      maxSpendUsd: canary.shadow.maxSpendUsd,
      maxConcurrency: canary.shadow.maxConcurrency,
      salt: `shadow:${canary.id}`,
    });
  }
  return stages;
}

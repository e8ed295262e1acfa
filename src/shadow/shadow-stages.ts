import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock, type ScheduledJob } from '../common/clock';
import { PostgresListener } from '../database/postgres-listener';
import { ACTIVE_CANARIES_CHANNEL, ActiveCanaries } from '../policies/active-canaries';

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
  private listener?: PostgresListener;
  private job?: ScheduledJob;
  private reloading?: Promise<void>;
  private again = false;

  constructor(
    private readonly canaries: ActiveCanaries,
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.reload();
    this.listener = new PostgresListener({
      url: (this.dataSource.options as { url?: string }).url,
      channel: ACTIVE_CANARIES_CHANNEL,
      applicationName: 'switchyard-canaries-listener',
      logger: this.logger,
      onNotification: () => void this.reload(),
      onReconnected: () => this.reload(),
    });
    await this.listener.start();
    this.job = this.clock.every('shadow-stages', FULL_RELOAD_MS, () => this.reload());
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job?.stop();
    await this.listener?.stop();
  }

  /** The shadow stage running on `flagKey`, if any. */
  of(flagKey: string): ActiveShadow | undefined {
    return this.byFlag.size === 0 ? undefined : this.byFlag.get(flagKey);
  }

  get size(): number {
    return this.byFlag.size;
  }

  /** Reloads; notifications arriving meanwhile coalesce into one more reload after it. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = this.load()
      .catch((error: unknown) => this.logger.warn(`shadow stages not reloaded: ${(error as Error).message}`))
      .finally(() => {
        this.reloading = undefined;
        if (this.again) {
          this.again = false;
          void this.reload();
        }
      });
    return this.reloading;
  }

  private async load(): Promise<void> {
    const next = new Map<string, ActiveShadow>();
    for (const canary of await this.canaries.list()) {
      if (canary.state !== 'running' || canary.phase !== 'shadow' || !canary.shadow) continue;
      next.set(canary.flagKey, {
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
    this.byFlag = next;
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { grouped } from '@switchyard/stats';
import { DataSource } from 'typeorm';
import { AlertsService } from '../alerts/alerts.service';
import { Clock } from '../common/clock';
import { canaryConfig, type CanaryConfig } from '../config/canary.config';
import { LockKey, tryWithLock } from '../database/advisory-locks';
import { MetricsQueryService } from '../metrics/metrics-query.service';
import { FlagChangeService } from './flag-change.service';
import type { FlagWire } from './flag-mapper';
import { FlagsService } from './flags.service';
import { GuardrailExemptions } from './guardrail-exemptions';

export const GUARDRAIL_ACTOR = 'guardrail';

/**
 * Watches traffic on non-default variants that no canary watches: a variant given weight by hand whose
 * rolling failure rate (errors plus fallback rescues) passes GUARDRAIL_MAX_ERROR_RATE over at least
 * GUARDRAIL_MIN_REQUESTS requests goes to weight 0 (history source `guardrail`) and an alert goes
 * out. The window starts no earlier than the flag's last change, so a weight raised again after a
 * fix is judged on new traffic only. One replica watches at a time (LockKey.Guardrail).
 */
@Injectable()
export class Guardrail {
  private readonly logger = new Logger(Guardrail.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly flags: FlagsService,
    private readonly changes: FlagChangeService,
    private readonly exemptions: GuardrailExemptions,
    private readonly metrics: MetricsQueryService,
    private readonly alerts: AlertsService,
    private readonly clock: Clock,
    @Inject(canaryConfig.KEY) private readonly config: CanaryConfig,
  ) {}

  async watch(): Promise<void> {
    await tryWithLock(this.dataSource, LockKey.Guardrail, () => this.check(this.clock.now()));
  }

  private async check(now: Date): Promise<void> {
    const exempt = await this.exemptions.flagKeys();
    for (const flag of await this.flags.listActive()) {
      if (!flag.enabled || exempt.has(flag.key)) continue;
      for (const [variant, percentage] of Object.entries(flag.rollout)) {
        if (variant === flag.defaultVariant || percentage <= 0) continue;
        await this.checkVariant(flag, variant, percentage, now);
      }
    }
  }

  private async checkVariant(flag: FlagWire, variant: string, percentage: number, now: Date): Promise<void> {
    const { maxErrorRate, minRequests, windowMs } = this.config.guardrail;
    const from = new Date(Math.max(now.getTime() - windowMs, Date.parse(flag.updatedAt)));
    const window = await this.metrics.variantWindow({ flag: flag.key, variant, from, to: now });
    if (window.requests < minRequests) return;
    const errorRate = window.failures / window.requests;
    if (errorRate <= maxErrorRate) return;
    const reason =
      `guardrail: variant ${variant} failed ${grouped(window.failures)} of ${grouped(window.requests)} requests ` +
      `(${(errorRate * 100).toFixed(1)}% > ${(maxErrorRate * 100).toFixed(1)}%) since ${from.toISOString()}; weight ${percentage}% -> 0%`;
    await this.dataSource.transaction(async (manager) => {
      await this.changes.setVariantWeight(flag.key, variant, 0, {
        actor: GUARDRAIL_ACTOR,
        source: 'guardrail',
        reason,
        manager,
      });
      await this.alerts.raise(
        {
          type: 'flag.guardrail_tripped',
          dedupKey: `guardrail:${flag.key}:${variant}:v${flag.version}`,
          message: `Flag ${flag.key}: ${reason}`,
          flag: flag.key,
          evidence: {
            variant,
            previousPercentage: percentage,
            requests: window.requests,
            failures: window.failures,
            errorRate,
            maxErrorRate,
            window: { from: from.toISOString(), to: now.toISOString() },
          },
        },
        manager,
      );
    });
    this.logger.warn({ flag: flag.key, variant }, reason);
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AlertsService } from '../alerts/alerts.service';
import { canaryConfig, type CanaryConfig } from '../config/canary.config';
import { FlagsService } from '../flags/flags.service';
import { MetricsQueryService } from '../metrics/metrics-query.service';
import { ACTIVE_STATES } from './canary.types';

const GUARDRAIL_LOCK_KEY = 7_305_004;
export const GUARDRAIL_ACTOR = 'guardrail';

/**
 * Watches traffic on non-default variants when no canary does: a variant given weight by hand whose
 * rolling failure rate (errors plus fallback rescues) passes GUARDRAIL_MAX_ERROR_RATE over at least
 * GUARDRAIL_MIN_REQUESTS requests goes to weight 0 (history source `guardrail`) and an alert goes
 * out. The window starts no earlier than the flag's last change, so a weight raised again after a
 * fix is judged on new traffic only.
 */
@Injectable()
export class Guardrail {
  private readonly logger = new Logger(Guardrail.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly flags: FlagsService,
    private readonly metrics: MetricsQueryService,
    private readonly alerts: AlertsService,
    @Inject(canaryConfig.KEY) private readonly config: CanaryConfig,
  ) {}

  async watch(now = new Date()): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [GUARDRAIL_LOCK_KEY]);
      if (!locked) return;
      try {
        await this.check(now);
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [GUARDRAIL_LOCK_KEY]);
      }
    } finally {
      await runner.release();
    }
  }

  private async check(now: Date): Promise<void> {
    const { maxErrorRate, minRequests, windowMs } = this.config.guardrail;
    const watchedByCanary = new Set<string>(
      (await this.dataSource.query(`SELECT flag_key FROM canaries WHERE state = ANY($1)`, [ACTIVE_STATES])).map(
        (row: { flag_key: string }) => row.flag_key,
      ),
    );
    for (const flag of await this.flags.list(false)) {
      if (!flag.enabled || watchedByCanary.has(flag.key)) continue;
      for (const [variant, percentage] of Object.entries(flag.rollout)) {
        if (variant === flag.defaultVariant || percentage <= 0) continue;
        const from = new Date(Math.max(now.getTime() - windowMs, Date.parse(flag.updatedAt)));
        const window = await this.metrics.variantWindow({ flag: flag.key, variant, from, to: now, maxSamples: 0 });
        if (window.requests < minRequests) continue;
        const errorRate = window.failures / window.requests;
        if (errorRate <= maxErrorRate) continue;
        const reason =
          `guardrail: variant ${variant} failed ${window.failures} of ${window.requests} requests ` +
          `(${(errorRate * 100).toFixed(1)}% > ${(maxErrorRate * 100).toFixed(1)}%) since ${from.toISOString()}; weight ${percentage}% -> 0%`;
        await this.dataSource.transaction(async (manager) => {
          await this.flags.setVariantWeight(flag.key, variant, 0, {
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
  }
}

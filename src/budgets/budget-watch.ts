import { Injectable, Logger } from '@nestjs/common';
import { dollars } from '@switchyard/stats';
import { DataSource, type EntityManager } from 'typeorm';
import { AlertsService } from '../alerts/alerts.service';
import { Clock } from '../common/clock';
import { LockKey, tryWithLock } from '../database/advisory-locks';
import { picoOf, usdNumberOf } from '../metrics/cost';
import { BudgetDirectory } from './budget-directory';
import { forecastOf } from './budget-forecast';
import { BudgetHourlySpendRepository } from './budget-hourly-spend.repository';
import { BudgetLeasesRepository } from './budget-leases.repository';
import { currentPeriodOf } from './budget-period';
import { type PeriodKey, type PeriodRow, BudgetPeriodsRepository } from './budget-periods.repository';
import { BudgetSyncReceiptsRepository } from './budget-sync-receipts.repository';
import type { BudgetDefinition } from './budget.types';
import { budgetName, dollarsOf, exactUsd } from './budget.errors';
import { exhaustedEffect, exhaustionEvidence, percentOf, worstCaseExceeds } from './spend-ticket';

const FRACTION_SCALE = 1_000_000;
/** Hourly spend older than this is read by no forecast. */
const HOURLY_RETENTION_MS = 48 * 3_600_000;
/** A sync receipt is read only by its replica's next sync: one this old belongs to a replica long gone. */
const RECEIPT_RETENTION_MS = 7 * 24 * 3_600_000;

/**
 * Raises a budget's alerts, each once per period: every `alertAt` threshold its settled spend has
 * crossed (all of them once it ran out — refusing requests is crossing the last one — bar those the
 * exhaustion's own alert named and marked, BudgetNotices), and a burn-rate
 * alert when the last hour's pace would use it up before the period ends. Each alert is written with
 * the period row's record of it, under that row's lock, so a retried or concurrent watch never sends
 * one twice; one replica watches at a time.
 */
@Injectable()
export class BudgetWatch {
  private readonly logger = new Logger(BudgetWatch.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly directory: BudgetDirectory,
    private readonly periods: BudgetPeriodsRepository,
    private readonly leases: BudgetLeasesRepository,
    private readonly hourly: BudgetHourlySpendRepository,
    private readonly receipts: BudgetSyncReceiptsRepository,
    private readonly alerts: AlertsService,
    private readonly clock: Clock,
  ) {}

  async watch(): Promise<void> {
    await tryWithLock(this.dataSource, LockKey.BudgetWatch, async () => {
      const nowMs = this.clock.nowMs();
      for (const budget of this.directory.all()) {
        await this.watchOne(budget, nowMs).catch((error: unknown) =>
          this.logger.warn(
            `${budgetName(budget)}: alerts not checked (${(error as Error).message}); next watch retries`,
          ),
        );
      }
      await this.hourly.deleteBefore(this.dataSource.manager, new Date(nowMs - HOURLY_RETENTION_MS));
      await this.receipts.deleteBefore(this.dataSource.manager, new Date(nowMs - RECEIPT_RETENTION_MS));
    });
  }

  private async watchOne(budget: BudgetDefinition, nowMs: number): Promise<void> {
    const { window, key } = currentPeriodOf(budget, nowMs);
    const at = new Date(nowMs);
    await this.dataSource.transaction(async (manager) => {
      const row = await this.periods.find(manager, key, true);
      if (!row) return;
      await this.thresholds(manager, budget, key, window.endMs, row, at);
      if (!row.burnAlertedAt && !row.exhaustedAt) await this.burnRate(manager, budget, key, window.endMs, row, at);
    });
  }

  private async thresholds(
    manager: EntityManager,
    budget: BudgetDefinition,
    key: PeriodKey,
    endMs: number | null,
    row: PeriodRow,
    at: Date,
  ): Promise<void> {
    const spentPico = picoOf(row.spentUsd);
    const crossed = budget.alertAt.filter(
      (threshold) =>
        !row.alertedAt.includes(threshold) &&
        (row.exhaustedAt !== null || reached(spentPico, budget.limitPico, threshold)),
    );
    if (crossed.length === 0) return;
    const resets = endMs === null ? 'it does not reset' : `it resets at ${new Date(endMs).toISOString()}`;
    const by = row.exhaustedBy;
    for (const threshold of crossed) {
      const percent = percentOf(threshold);
      const spent = `${dollarsOf(spentPico)} spent`;
      const why = row.exhaustedAt ? ' (it ran out: requests are refused, downgraded or sent to the control)' : '';
      // Used up by one request's worst case, not by spend: say so, rather than quote a small spent as the crossing.
      const tooBig = by !== null && picoOf(by.leftUsd) > 0n && !reached(spentPico, budget.limitPico, threshold);
      const message = tooBig
        ? `${budgetName(budget)} counts as past ${percent} of its limit with ${spent}: ` +
          `${worstCaseExceeds(by, 'exceeded')}; ${exhaustedEffect(budget.onExhausted, true)}; ${resets}.`
        : `${budgetName(budget)} crossed ${percent} of its limit: ${spent}${why}; ${resets}.`;
      await this.alerts.raise(
        {
          type: 'budget.threshold_crossed',
          // Per limit: crossing 80% of a raised limit is news, though 80% of the old one was sent.
          dedupKey: `budget:${budget.id}:${key.periodStart.toISOString()}:threshold:${threshold}:${exactUsd(budget.limitPico)}`,
          message,
          canaryId: budget.scope === 'canary' ? budget.target : null,
          evidence: {
            budget: budget.id,
            budgetName: budgetName(budget),
            scope: budget.scope,
            target: budget.target,
            threshold,
            spentUsd: Number(row.spentUsd),
            limitUsd: usdNumberOf(budget.limitPico),
            exhausted: row.exhaustedAt !== null,
            ...(by ? exhaustionEvidence(by) : {}),
            periodStart: key.periodStart.toISOString(),
          },
        },
        manager,
      );
    }
    await this.periods.markAlerted(manager, key, crossed, at);
  }

  private async burnRate(
    manager: EntityManager,
    budget: BudgetDefinition,
    key: PeriodKey,
    endMs: number | null,
    row: PeriodRow,
    at: Date,
  ): Promise<void> {
    if (endMs === null) return;
    const [hours, live] = await Promise.all([
      this.hourly.recent(manager, budget.id, at),
      this.leases.live(manager, key, at),
    ]);
    const forecast = forecastOf({
      limitPico: budget.limitPico,
      spentPico: picoOf(row.spentUsd),
      reservedPico: live.reduce((sum, lease) => sum + picoOf(lease.reservedUsd), 0n),
      nowMs: at.getTime(),
      createdAtMs: budget.createdAt.getTime(),
      endMs,
      exhaustedAtMs: row.exhaustedAt?.getTime() ?? null,
      currentHourPico: picoOf(hours.currentUsd),
      previousHourPico: picoOf(hours.previousUsd),
    });
    if (!forecast.exhaustsBeforeReset || forecast.exhaustionAtMs === null) return;
    const exhaustion = new Date(forecast.exhaustionAtMs).toISOString();
    await this.alerts.raise(
      {
        type: 'budget.burn_rate',
        dedupKey: `budget:${budget.id}:${key.periodStart.toISOString()}:burn_rate:${exactUsd(budget.limitPico)}`,
        message:
          `${budgetName(budget)} is spending ${dollars(forecast.burnRateUsdPerHour)} an hour: at that pace it runs out ` +
          `at ${exhaustion}, before its period ends at ${new Date(endMs).toISOString()}.`,
        canaryId: budget.scope === 'canary' ? budget.target : null,
        evidence: {
          budget: budget.id,
          budgetName: budgetName(budget),
          scope: budget.scope,
          target: budget.target,
          burnRateUsdPerHour: forecast.burnRateUsdPerHour,
          exhaustionAt: exhaustion,
          periodEnd: new Date(endMs).toISOString(),
          spentUsd: Number(row.spentUsd),
          limitUsd: usdNumberOf(budget.limitPico),
        },
      },
      manager,
    );
    await this.periods.markBurnAlerted(manager, key, at);
  }
}

/** Whether the settled spend reached `threshold` of the limit. */
function reached(spentPico: bigint, limitPico: bigint, threshold: number): boolean {
  return spentPico * BigInt(FRACTION_SCALE) >= limitPico * BigInt(Math.round(threshold * FRACTION_SCALE));
}

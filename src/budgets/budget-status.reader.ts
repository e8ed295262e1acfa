import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { usdNumberOf, picoOf } from '../metrics/cost';
import { CostReportService, type SpendFilter } from '../metrics/cost-report.service';
import type { CostGrouping } from '../metrics/dto/metrics-query.dto';
import { BudgetDirectory } from './budget-directory';
import { forecastOf } from './budget-forecast';
import { BudgetHourlySpendRepository } from './budget-hourly-spend.repository';
import { BudgetLeasesRepository } from './budget-leases.repository';
import { currentPeriodOf } from './budget-period';
import { BudgetPeriodsRepository } from './budget-periods.repository';
import type { BudgetDefinition } from './budget.types';
import type { BudgetStatusDto } from './dto/budget.dto';

const TOP_SPENDERS = 10;

export type BudgetStatus = Pick<BudgetStatusDto, 'forecast' | 'leases' | 'topSpenders'>;

/** What a budget stands at beyond its figures: the forecast, the replicas' leases and the top spenders under it. */
@Injectable()
export class BudgetStatusReader {
  constructor(
    private readonly dataSource: DataSource,
    private readonly periods: BudgetPeriodsRepository,
    private readonly leases: BudgetLeasesRepository,
    private readonly hourly: BudgetHourlySpendRepository,
    private readonly directory: BudgetDirectory,
    private readonly costs: CostReportService,
  ) {}

  async read(budget: BudgetDefinition, nowMs: number): Promise<BudgetStatus> {
    const { window, key } = currentPeriodOf(budget, nowMs);
    const manager = this.dataSource.manager;
    const now = new Date(nowMs);
    const [row, leases, hours] = await Promise.all([
      this.periods.find(manager, key),
      this.leases.live(manager, key, now),
      this.hourly.recent(manager, budget.id, now),
    ]);
    const reservedPico = leases.reduce((sum, lease) => sum + picoOf(lease.reservedUsd), 0n);
    const forecast = forecastOf({
      limitPico: budget.limitPico,
      spentPico: picoOf(row?.spentUsd ?? '0'),
      reservedPico,
      nowMs,
      createdAtMs: budget.createdAt.getTime(),
      endMs: window.endMs,
      exhaustedAtMs: row?.exhaustedAt?.getTime() ?? null,
      currentHourPico: picoOf(hours.currentUsd),
      previousHourPico: picoOf(hours.previousUsd),
    });
    const spenders = this.spendersOf(budget);
    // The window its spent covers: requests are charged to the period they were admitted in, and only
    // once the budget exists (a day budget created at noon has no morning).
    const from = new Date(Math.max(window.startMs, budget.createdAt.getTime()));
    const filter: SpendFilter = { from, to: new Date(nowMs + 1), ...spenders.filter };
    return {
      forecast: {
        burnRateUsdPerHour: forecast.burnRateUsdPerHour,
        burnRateWindowSeconds: forecast.burnRateWindowMs / 1000,
        exhaustionAt: forecast.exhaustionAtMs === null ? null : new Date(forecast.exhaustionAtMs).toISOString(),
        exhaustsBeforeReset: forecast.exhaustsBeforeReset,
      },
      leases: leases.map((lease) => ({
        replica: lease.replica,
        grantedUsd: usdNumberOf(picoOf(lease.grantedUsd)),
        reservedUsd: usdNumberOf(picoOf(lease.reservedUsd)),
        expiresAt: lease.expiresAt.toISOString(),
      })),
      topSpenders: {
        groupBy: spenders.groupBy,
        items: spenders.filter ? await this.costs.topSpenders(filter, spenders.groupBy, TOP_SPENDERS) : [],
      },
    };
  }

  /** Who spends under a budget: a key's policies, a policy's or a canary's keys (teams). */
  private spendersOf(budget: BudgetDefinition): { groupBy: CostGrouping; filter?: Partial<SpendFilter> } {
    if (budget.scope === 'key') return { groupBy: 'policy', filter: { apiKey: budget.target } };
    if (budget.scope === 'policy') return { groupBy: 'apiKey', filter: { policy: budget.target } };
    const arm = this.directory.arm(budget.target);
    return { groupBy: 'apiKey', filter: arm && { flag: arm.flagKey, variant: arm.variant } };
  }
}

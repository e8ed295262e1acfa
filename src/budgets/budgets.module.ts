import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessModule } from '../access/access.module';
import { AlertsModule } from '../alerts/alerts.module';
import { CatalogModule } from '../catalog/catalog.module';
import { MetricsModule } from '../metrics/metrics.module';
import { PoliciesModule } from '../policies/policies.module';
import { RoutingModule } from '../routing/routing.module';
import { BudgetCanaries } from './budget-canaries';
import { BudgetDirectory } from './budget-directory';
import { BudgetGate } from './budget-gate';
import { BudgetHourlySpendRepository } from './budget-hourly-spend.repository';
import { BudgetSyncReceiptsRepository } from './budget-sync-receipts.repository';
import { BudgetLeases } from './budget-leases';
import { BudgetLeasesRepository } from './budget-leases.repository';
import { BudgetLedgerStore } from './budget-ledger.store';
import { BudgetNotices } from './budget-notices';
import { BudgetPeriodsRepository } from './budget-periods.repository';
import { BudgetStatusReader } from './budget-status.reader';
import { BudgetWatch } from './budget-watch';
import { BudgetWatchScheduler } from './budget-watch.scheduler';
import { BudgetsController } from './budgets.controller';
import { BudgetsRepository } from './budgets.repository';
import { BudgetsService } from './budgets.service';
import { BudgetEntity } from './entities/budget.entity';

/**
 * Spend budgets: definitions and their API (BudgetsService), the in-memory directory of budgets, this
 * replica's leases of headroom (BudgetLeases, synced by its job through BudgetLedgerStore), the
 * pipeline's budget stage (BudgetGate), alerts (BudgetNotices on exhaustion, BudgetWatch for
 * thresholds and burn rate). Active canaries come from ActiveCanaries (policies/); a canary hears its
 * shadow_only budget run out through BudgetCanaries.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([BudgetEntity]),
    AccessModule,
    AlertsModule,
    CatalogModule,
    MetricsModule,
    PoliciesModule,
    RoutingModule,
  ],
  controllers: [BudgetsController],
  providers: [
    BudgetsRepository,
    BudgetPeriodsRepository,
    BudgetLeasesRepository,
    BudgetHourlySpendRepository,
    BudgetSyncReceiptsRepository,
    BudgetLedgerStore,
    BudgetLeases,
    BudgetCanaries,
    BudgetDirectory,
    BudgetNotices,
    BudgetGate,
    BudgetStatusReader,
    BudgetsService,
    BudgetWatch,
    BudgetWatchScheduler,
  ],
  // The gateway spends through the gate; the canary registers its arms and hears its budgets run out.
  exports: [BudgetGate, BudgetCanaries],
})
export class BudgetsModule {}

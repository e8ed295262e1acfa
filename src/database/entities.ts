import { ApiKeyUsageReceiptEntity } from '../access/entities/api-key-usage-receipt.entity';
import { ApiKeyUsageEntity } from '../access/entities/api-key-usage.entity';
import { ApiKeyEntity } from '../access/entities/api-key.entity';
import { AlertDeliveryEntity } from '../alerts/entities/alert-delivery.entity';
import { AlertEntity } from '../alerts/entities/alert.entity';
import { BudgetHourlySpendEntity } from '../budgets/entities/budget-hourly-spend.entity';
import { BudgetLeaseEntity } from '../budgets/entities/budget-lease.entity';
import { BudgetPeriodEntity } from '../budgets/entities/budget-period.entity';
import { BudgetSyncReceiptEntity } from '../budgets/entities/budget-sync-receipt.entity';
import { BudgetEntity } from '../budgets/entities/budget.entity';
import { CanaryEventEntity } from '../canary/entities/canary-event.entity';
import { CanaryTickFailureEntity } from '../canary/entities/canary-tick-failure.entity';
import { CatalogReloadEntity } from '../catalog/entities/catalog-reload.entity';
import { CanaryEntity } from '../canary/entities/canary.entity';
import { FlagHistoryEntity } from '../flags/entities/flag-history.entity';
import { FlagEntity } from '../flags/entities/flag.entity';
import { RequestMetricEntity } from '../metrics/entities/request-metric.entity';
import { OutcomeEventEntity } from '../outcomes/entities/outcome-event.entity';
import { OutcomeMetricHistoryEntity } from '../outcomes/entities/outcome-metric-history.entity';
import { OutcomeMetricEntity } from '../outcomes/entities/outcome-metric.entity';
import { ShadowPairEntity } from '../shadow/entities/shadow-pair.entity';
import { ShadowSpendEntity } from '../shadow/entities/shadow-spend.entity';

/**
 * Every entity, listed (not globbed, for the same reason as MIGRATIONS) so that the TypeORM CLI's
 * DataSource knows the whole schema: `migration:generate` diffs against these. Modules still query
 * only their own entities, through TypeOrmModule.forFeature.
 */
export const ENTITIES = [
  FlagEntity,
  FlagHistoryEntity,
  RequestMetricEntity,
  AlertEntity,
  AlertDeliveryEntity,
  CanaryEntity,
  CanaryEventEntity,
  CanaryTickFailureEntity,
  ApiKeyEntity,
  ApiKeyUsageEntity,
  ApiKeyUsageReceiptEntity,
  CatalogReloadEntity,
  BudgetEntity,
  BudgetPeriodEntity,
  BudgetLeaseEntity,
  BudgetHourlySpendEntity,
  BudgetSyncReceiptEntity,
  OutcomeMetricEntity,
  OutcomeMetricHistoryEntity,
  OutcomeEventEntity,
  ShadowPairEntity,
  ShadowSpendEntity,
];

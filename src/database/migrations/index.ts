import type { MixedList } from 'typeorm';
import { CreateFlags1764000000000 } from './1764000000000-create-flags';
import { CreateRequestMetrics1764100000000 } from './1764100000000-create-request-metrics';
import { CreateAlerts1764200000000 } from './1764200000000-create-alerts';
import { CreateCanaries1764300000000 } from './1764300000000-create-canaries';
import { CreateApiKeys1764400000000 } from './1764400000000-create-api-keys';
import { AddCanarySlot1764510000000 } from './1764510000000-add-canary-slot';
import { RequestMetricsInvalidRequest1764520000000 } from './1764520000000-request-metrics-invalid-request';
import { CreateCatalogReloads1764600000000 } from './1764600000000-create-catalog-reloads';
import { CreateBudgets1764700000000 } from './1764700000000-create-budgets';
import { CanaryDecisionEngine1764800000000 } from './1764800000000-canary-decision-engine';
import { RequestMetricsQualitySignals1796511403895 } from './1796511403895-request-metrics-quality-signals';
import { CreateOutcomeMetrics1796512203869 } from './1796512203869-create-outcome-metrics';
import { CreateOutcomeEvents1796512518587 } from './1796512518587-create-outcome-events';
import { ShadowStage1796512585327 } from './1796512585327-shadow-stage';
import { RequestMetricsUserExposureIndex1796522496319 } from './1796522496319-request-metrics-user-exposure-index';
import { SyncReceipts1796574702415 } from './1796574702415-sync-receipts';
import { CanaryTickFailures1796595000000 } from './1796595000000-canary-tick-failures';
import { BudgetExhaustionWorstCase1796600000000 } from './1796600000000-budget-exhaustion-worst-case';
import { CanaryEventsShadowStage1796655345052 } from './1796655345052-canary-events-shadow-stage';
import { CanaryListIndexes1796660000000 } from './1796660000000-canary-list-indexes';
import { StageFlagVersion1796670000000 } from './1796670000000-stage-flag-version';
import { BudgetVersion1796680000000 } from './1796680000000-budget-version';

/**
 * Every migration, in order. Listed by hand rather than found by a glob because the same code runs
 * compiled (dist/) and under ts-jest, where file globs would point at different trees. A migration
 * made with `npm run migration:generate` is added here.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const MIGRATIONS: MixedList<Function> = [
  CreateFlags1764000000000,
  CreateRequestMetrics1764100000000,
  CreateAlerts1764200000000,
  CreateCanaries1764300000000,
  CreateApiKeys1764400000000,
  AddCanarySlot1764510000000,
  RequestMetricsInvalidRequest1764520000000,
  CreateCatalogReloads1764600000000,
  CreateBudgets1764700000000,
  CanaryDecisionEngine1764800000000,
  RequestMetricsQualitySignals1796511403895,
  CreateOutcomeMetrics1796512203869,
  CreateOutcomeEvents1796512518587,
  ShadowStage1796512585327,
  RequestMetricsUserExposureIndex1796522496319,
  SyncReceipts1796574702415,
  CanaryTickFailures1796595000000,
  BudgetExhaustionWorstCase1796600000000,
  CanaryEventsShadowStage1796655345052,
  CanaryListIndexes1796660000000,
  StageFlagVersion1796670000000,
  BudgetVersion1796680000000,
];

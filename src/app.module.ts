import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ScheduleModule } from '@nestjs/schedule';
import { AccessModule } from './access/access.module';
import { AlertsModule } from './alerts/alerts.module';
import { BudgetsModule } from './budgets/budgets.module';
import { CanaryModule } from './canary/canary.module';
import { CatalogReloadModule } from './catalog/catalog-reload.module';
import type { Clock } from './common/clock';
import { ClockModule } from './common/clock.module';
import { LoggingModule } from './common/logging.module';
import { CONFIGURATION } from './config/configuration';
import { DatabaseModule } from './database/database.module';
import { FlagsModule } from './flags/flags.module';
import { GuardrailModule } from './flags/guardrail.module';
import { GatewayModule } from './gateway/gateway.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { OutcomesModule } from './outcomes/outcomes.module';
import { PoliciesModule } from './policies/policies.module';
import { ProvidersModule } from './providers/providers.module';
import { SimulatorModule } from './simulator/simulator.module';
import { UiModule } from './ui/ui.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, cache: true, load: CONFIGURATION }),
    // Once, here: the jobs on @nestjs/schedule (alert sender, metrics partitions) share it. Canary
    // ticks and the guardrail run on the Clock instead, so tests drive them by moving time.
    ScheduleModule.forRoot(),
    LoggingModule,
    DatabaseModule,
    AccessModule,
    SimulatorModule,
    ProvidersModule,
    FlagsModule,
    MetricsModule,
    GatewayModule,
    HealthModule,
    AlertsModule,
    BudgetsModule,
    GuardrailModule,
    CanaryModule,
    CatalogReloadModule,
    PoliciesModule,
    OutcomesModule,
    UiModule,
  ],
})
export class AppModule {
  /** The app with its clock: the system clock unless a test passes its own (see createApp). */
  static forRoot(options: { clock?: Clock } = {}): DynamicModule {
    return { module: AppModule, imports: [ClockModule.forRoot(options.clock)] };
  }
}

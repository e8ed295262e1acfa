import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AlertsModule } from '../alerts/alerts.module';
import { BudgetsModule } from '../budgets/budgets.module';
import { FlagsModule } from '../flags/flags.module';
import { GuardrailModule } from '../flags/guardrail.module';
import { MetricsModule } from '../metrics/metrics.module';
import { OutcomesModule } from '../outcomes/outcomes.module';
import { PoliciesModule } from '../policies/policies.module';
import { CanariesRepository } from './canaries.repository';
import { CanaryGauges } from './canary-gauges';
import { CanaryBudgetLink } from './canary-budget-link';
import { CanaryEventsRepository } from './canary-events.repository';
import { CanaryExecutor } from './canary-executor';
import { CanaryTickScheduler } from './canary-tick.scheduler';
import { CanaryTransitions } from './canary-transitions';
import { CanaryPreviewService } from './canary-preview.service';
import { CanaryController } from './canary.controller';
import { CanaryService } from './canary.service';
import { CanaryEventEntity } from './entities/canary-event.entity';
import { CanaryEntity } from './entities/canary.entity';
import { StageJudge } from './stage-judge';
import { ShadowJudge } from './shadow-judge';
import { ShadowModule } from '../shadow/shadow.module';

/**
 * Canary rollouts: plans and manual actions (CanaryService), the scheduled judging (CanaryTickScheduler
 * -> CanaryExecutor -> canary-decision.ts), both applying changes through CanaryTransitions. Reads
 * metrics, moves flag weights through FlagChangeService, raises alerts; tells the guardrail to keep off
 * the flags it watches; pauses a canary whose shadow_only budget ran out (CanaryBudgetLink).
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([CanaryEntity, CanaryEventEntity]),
    FlagsModule,
    GuardrailModule,
    MetricsModule,
    AlertsModule,
    BudgetsModule,
    PoliciesModule,
    ShadowModule,
    OutcomesModule,
  ],
  controllers: [CanaryController],
  providers: [
    CanariesRepository,
    CanaryEventsRepository,
    CanaryTransitions,
    CanaryService,
    CanaryPreviewService,
    StageJudge,
    ShadowJudge,
    CanaryExecutor,
    CanaryTickScheduler,
    CanaryBudgetLink,
    CanaryGauges,
  ],
})
export class CanaryModule {}

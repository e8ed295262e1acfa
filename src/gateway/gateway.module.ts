import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { BudgetsModule } from '../budgets/budgets.module';
import { CatalogModule } from '../catalog/catalog.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ProvidersModule } from '../providers/providers.module';
import { RoutingModule } from '../routing/routing.module';
import { CandidateRunner } from './candidate-runner';
import { CompletionEntrance } from './completion-entrance';
import { CompletionPipeline } from './completion-pipeline';
import { GatewayController } from './gateway.controller';
import { OpenAiResponder } from './openai-responder';
import { RequestAdmission } from './request-admission';
import { ShadowDispatch } from './shadow-dispatch';
import { ShadowModule } from '../shadow/shadow.module';

@Module({
  imports: [CatalogModule, ProvidersModule, RoutingModule, MetricsModule, AccessModule, BudgetsModule, ShadowModule],
  controllers: [GatewayController],
  providers: [
    RequestAdmission,
    CandidateRunner,
    OpenAiResponder,
    ShadowDispatch,
    CompletionPipeline,
    CompletionEntrance,
  ],
  exports: [CompletionEntrance],
})
export class GatewayModule {}

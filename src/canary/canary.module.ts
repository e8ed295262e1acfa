import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AlertsModule } from '../alerts/alerts.module';
import { FlagsModule } from '../flags/flags.module';
import { MetricsModule } from '../metrics/metrics.module';
import { CanaryExecutor } from './canary-executor';
import { CanaryController } from './canary.controller';
import { CanaryService } from './canary.service';
import { CanaryEventEntity } from './entities/canary-event.entity';
import { CanaryEntity } from './entities/canary.entity';
import { Guardrail } from './guardrail';

/** Canary rollouts and the guardrail: they read metrics, move flag weights and raise alerts. */
@Module({
  imports: [TypeOrmModule.forFeature([CanaryEntity, CanaryEventEntity]), FlagsModule, MetricsModule, AlertsModule],
  controllers: [CanaryController],
  providers: [CanaryService, CanaryExecutor, Guardrail],
})
export class CanaryModule {}

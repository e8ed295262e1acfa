import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutcomeMetricHistoryEntity } from './entities/outcome-metric-history.entity';
import { OutcomeMetricEntity } from './entities/outcome-metric.entity';
import { OutcomeMetricHistoryRepository } from './outcome-metric-history.repository';
import { OutcomeMetricsController } from './outcome-metrics.controller';
import { OutcomeMetricsRepository } from './outcome-metrics.repository';
import { OutcomeMetricsService } from './outcome-metrics.service';

/** Outcome metrics: definitions and their history (/api/outcome-metrics). */
@Module({
  imports: [TypeOrmModule.forFeature([OutcomeMetricEntity, OutcomeMetricHistoryEntity])],
  controllers: [OutcomeMetricsController],
  providers: [OutcomeMetricsRepository, OutcomeMetricHistoryRepository, OutcomeMetricsService],
  exports: [OutcomeMetricsService],
})
export class OutcomesModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MetricsModule } from '../metrics/metrics.module';
import { OutcomeEventEntity } from './entities/outcome-event.entity';
import { OutcomeMetricHistoryEntity } from './entities/outcome-metric-history.entity';
import { OutcomeMetricEntity } from './entities/outcome-metric.entity';
import { OutcomeIngestion } from './outcome-ingestion';
import { OutcomeIngestionController } from './outcome-ingestion.controller';
import { OutcomeSummary } from './outcome-summary';
import { OutcomeRetention } from './outcome-retention';
import { OutcomeWriter } from './outcome-writer';
import { OutcomeMetricHistoryRepository } from './outcome-metric-history.repository';
import { OutcomeMetricsController } from './outcome-metrics.controller';
import { OutcomeMetricsRepository } from './outcome-metrics.repository';
import { OutcomeMetricsService } from './outcome-metrics.service';

/** Outcome metrics: definitions and their history (/api/outcome-metrics), and reported events (POST /v1/outcomes). */
@Module({
  imports: [
    TypeOrmModule.forFeature([OutcomeMetricEntity, OutcomeMetricHistoryEntity, OutcomeEventEntity]),
    MetricsModule,
  ],
  controllers: [OutcomeMetricsController, OutcomeIngestionController],
  providers: [
    OutcomeMetricsRepository,
    OutcomeMetricHistoryRepository,
    OutcomeMetricsService,
    OutcomeIngestion,
    OutcomeWriter,
    OutcomeRetention,
    OutcomeSummary,
  ],
  exports: [OutcomeMetricsService],
})
export class OutcomesModule {}

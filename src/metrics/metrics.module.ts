import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CatalogModule } from '../catalog/catalog.module';
import { ProvidersModule } from '../providers/providers.module';
import { MetricsController, PrometheusController } from './metrics.controller';
import { MetricsHealthIndicator } from './metrics.health';
import { MetricsPartitions } from './metrics-partitions';
import { MetricsQueryService } from './metrics-query.service';
import { MetricsRecorder } from './metrics-recorder';
import { MetricsWriter } from './metrics-writer';
import { PrometheusMetrics } from './prometheus-metrics';

@Module({
  imports: [CatalogModule, ProvidersModule, TerminusModule],
  controllers: [MetricsController, PrometheusController],
  providers: [
    MetricsWriter,
    PrometheusMetrics,
    MetricsRecorder,
    MetricsQueryService,
    MetricsPartitions,
    MetricsHealthIndicator,
  ],
  // The gateway records, the canary reads, health reports the writer, other modules add Prometheus series.
  exports: [MetricsRecorder, MetricsQueryService, MetricsHealthIndicator, PrometheusMetrics],
})
export class MetricsModule {}

import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AccessModule } from '../access/access.module';
import { CatalogModule } from '../catalog/catalog.module';
import { ProvidersModule } from '../providers/providers.module';
import { CanaryWindowReader } from './canary-window-reader';
import { MetricsController, PrometheusController } from './metrics.controller';
import { MetricsHealthIndicator } from './metrics.health';
import { MetricsPartitions } from './metrics-partitions';
import { MetricsQueryService } from './metrics-query.service';
import { CostReportService } from './cost-report.service';
import { MetricsRecorder } from './metrics-recorder';
import { ExposureLookup } from './exposure-lookup';
import { RequestLookup } from './request-lookup';
import { MetricsWriter } from './metrics-writer';
import { PrometheusMetrics } from './prometheus-metrics';

@Module({
  imports: [CatalogModule, ProvidersModule, TerminusModule, AccessModule],
  controllers: [MetricsController, PrometheusController],
  providers: [
    MetricsWriter,
    PrometheusMetrics,
    MetricsRecorder,
    MetricsQueryService,
    CostReportService,
    MetricsPartitions,
    MetricsHealthIndicator,
    CanaryWindowReader,
    RequestLookup,
    ExposureLookup,
  ],
  // The gateway records, the canary and the guardrail read, budgets read spenders, health reports the writer,
  // outcome ingestion looks up requests and exposures, others add Prometheus series.
  exports: [
    MetricsRecorder,
    MetricsQueryService,
    CanaryWindowReader,
    CostReportService,
    MetricsHealthIndicator,
    PrometheusMetrics,
    RequestLookup,
    ExposureLookup,
  ],
})
export class MetricsModule {}

import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MetricsModule } from '../metrics/metrics.module';
import { CatalogModule } from '../catalog/catalog.module';
import { HealthController } from './health.controller';
import { ProviderHealthIndicator } from './provider.health';

@Module({
  imports: [TerminusModule, HttpModule, CatalogModule, MetricsModule],
  controllers: [HealthController],
  providers: [ProviderHealthIndicator],
})
export class HealthModule {}

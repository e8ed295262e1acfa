import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CatalogModule } from '../catalog/catalog.module';
import { FlagsModule } from '../flags/flags.module';
import { MetricsModule } from '../metrics/metrics.module';
import { DatabaseHealthIndicator } from './database.health';
import { HealthController } from './health.controller';
import { ProviderHealthIndicator } from './provider.health';

@Module({
  imports: [TerminusModule, HttpModule, CatalogModule, MetricsModule, FlagsModule],
  controllers: [HealthController],
  providers: [ProviderHealthIndicator, DatabaseHealthIndicator],
})
export class HealthModule {}

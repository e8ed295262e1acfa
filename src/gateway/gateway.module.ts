import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { MetricsModule } from '../metrics/metrics.module';
import { CatalogModule } from '../catalog/catalog.module';
import { ProvidersModule } from '../providers/providers.module';
import { RoutingModule } from '../routing/routing.module';
import { GatewayFastPath } from './gateway-fast-path';
import { GatewayController } from './gateway.controller';
import { GatewayService } from './gateway.service';

@Module({
  imports: [CatalogModule, ProvidersModule, RoutingModule, MetricsModule, AccessModule],
  controllers: [GatewayController],
  providers: [GatewayService, GatewayFastPath],
  exports: [GatewayFastPath],
})
export class GatewayModule {}

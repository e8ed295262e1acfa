import { Module } from '@nestjs/common';
import { CatalogService } from './catalog.service';
import { ModelHealth } from './model-health';
import { ProviderClient } from './provider-client';
import { ProviderKeyRing } from './provider-keys';
import { SimulatorHost } from './simulator/simulator-host';

@Module({
  providers: [CatalogService, SimulatorHost, ProviderKeyRing, ModelHealth, ProviderClient],
  exports: [CatalogService, ModelHealth, ProviderClient],
})
export class ProvidersModule {}

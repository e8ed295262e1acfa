import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { ModelHealth } from './model-health';
import { ProviderClient } from './provider-client';
import { ProviderKeyRing } from './provider-keys';

@Module({
  imports: [CatalogModule],
  providers: [ProviderKeyRing, ModelHealth, ProviderClient],
  exports: [ModelHealth, ProviderClient],
})
export class ProvidersModule {}

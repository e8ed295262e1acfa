import { Module } from '@nestjs/common';
import { CatalogService } from './catalog.service';
import { SimulatorHost } from './simulator/simulator-host';

@Module({
  providers: [CatalogService, SimulatorHost],
  exports: [CatalogService],
})
export class ProvidersModule {}

import { Module } from '@nestjs/common';
import { FlagsModule } from '../flags/flags.module';
import { CatalogModule } from '../catalog/catalog.module';
import { ProvidersModule } from '../providers/providers.module';
import { ROUTING_STRATEGIES, type RoutingStrategy } from './routing-strategy';
import { RoutingService } from './routing.service';
import { STRATEGY_CLASSES } from './strategies';

@Module({
  imports: [CatalogModule, ProvidersModule, FlagsModule],
  providers: [
    ...STRATEGY_CLASSES,
    {
      provide: ROUTING_STRATEGIES,
      inject: STRATEGY_CLASSES,
      useFactory: (...strategies: RoutingStrategy[]) => strategies,
    },
    RoutingService,
  ],
  exports: [RoutingService],
})
export class RoutingModule {}

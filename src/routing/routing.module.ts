import { Module } from '@nestjs/common';
import { FlagsModule } from '../flags/flags.module';
import { CatalogModule } from '../catalog/catalog.module';
import { ProvidersModule } from '../providers/providers.module';
import { ChatPolicy } from './chat.policy';
import { FraudPolicy } from './fraud.policy';
import { RecommendationsPolicy } from './recommendations.policy';
import { ROUTING_POLICIES, type RoutingPolicy } from './routing-policy';
import { RoutingService } from './routing.service';

const POLICY_CLASSES = [RecommendationsPolicy, ChatPolicy, FraudPolicy];

@Module({
  imports: [CatalogModule, ProvidersModule, FlagsModule],
  providers: [
    ...POLICY_CLASSES,
    {
      provide: ROUTING_POLICIES,
      inject: POLICY_CLASSES,
      useFactory: (...policies: RoutingPolicy[]) => policies,
    },
    RoutingService,
  ],
  exports: [RoutingService],
})
export class RoutingModule {}

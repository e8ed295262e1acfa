import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { FlagsModule } from '../flags/flags.module';
import { MetricsModule } from '../metrics/metrics.module';
import { RoutingModule } from '../routing/routing.module';
import { ActiveCanaries } from './active-canaries';
import { PoliciesController } from './policies.controller';
import { PoliciesService } from './policies.service';

/**
 * `GET /api/policies`: the policy map. Reads routing (policies compiled with their strategies),
 * flags, metrics; learns of canaries through ActiveCanaries, which the canary module fills in.
 */
@Module({
  imports: [CatalogModule, RoutingModule, FlagsModule, MetricsModule],
  controllers: [PoliciesController],
  providers: [ActiveCanaries, PoliciesService],
  exports: [ActiveCanaries],
})
export class PoliciesModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MetricsModule } from '../metrics/metrics.module';
import { PoliciesModule } from '../policies/policies.module';
import { ShadowPairEntity } from './entities/shadow-pair.entity';
import { ShadowSpendEntity } from './entities/shadow-spend.entity';
import { ShadowCounters } from './shadow-counters';
import { ShadowLedger } from './shadow-ledger';
import { ShadowPairsRepository } from './shadow-pairs.repository';
import { ShadowPairRetention } from './shadow-pair-retention';
import { ShadowPairWriter } from './shadow-pair-writer';
import { ShadowPairs } from './shadow-pairs.service';
import { ShadowSpendRepository } from './shadow-spend.repository';
import { ShadowStages } from './shadow-stages';

/**
 * The shadow stage's shared parts, known to the gateway (which makes the shadow calls) and the
 * canary (which judges and lists their pairs), so neither imports the other: the running shadow
 * stages in memory (ShadowStages, following the active canaries), the spend cap across replicas
 * (ShadowLedger), the pairs (ShadowPairs) and the Prometheus counts (ShadowCounters).
 */
@Module({
  imports: [TypeOrmModule.forFeature([ShadowPairEntity, ShadowSpendEntity]), PoliciesModule, MetricsModule],
  providers: [
    ShadowStages,
    ShadowLedger,
    ShadowPairs,
    ShadowPairWriter,
    ShadowPairRetention,
    ShadowCounters,
    ShadowPairsRepository,
    ShadowSpendRepository,
  ],
  exports: [ShadowStages, ShadowLedger, ShadowPairs, ShadowCounters],
})
export class ShadowModule {}

import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { AnswerParser } from './answer-parser';
import { ContextGuard } from './context-guard';
import { ModelHealth } from './model-health';
import { ProviderClient } from './provider-client';
import { ProviderKeyRing } from './provider-keys';
import { UPSTREAM } from './upstream';

@Module({
  imports: [CatalogModule],
  providers: [
    ProviderKeyRing,
    ModelHealth,
    AnswerParser,
    ProviderClient,
    ContextGuard,
    { provide: UPSTREAM, useExisting: ProviderClient },
  ],
  exports: [AnswerParser, ModelHealth, ProviderClient, ProviderKeyRing, ContextGuard, UPSTREAM],
})
export class ProvidersModule {}

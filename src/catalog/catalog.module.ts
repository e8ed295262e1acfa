import { Module } from '@nestjs/common';
import { CatalogService } from './catalog.service';

/** The validated model catalog (providers, models, policies, keys), read by most modules. */
@Module({ providers: [CatalogService], exports: [CatalogService] })
export class CatalogModule {}

import { Injectable, type OnModuleInit } from '@nestjs/common';
import { CatalogService } from '../catalog/catalog.service';
import type { CatalogConfig } from '../config/catalog.config';
import { FlagCache } from './flag-cache';
import { modelOfVariant } from './flag.types';

/**
 * Refuses a catalog reload that drops a model some active flag's variant serves: routing would have
 * nothing to send that variant's users to. The flag is changed first, then the model removed.
 */
@Injectable()
export class FlagCatalogCheck implements OnModuleInit {
  constructor(
    private readonly catalog: CatalogService,
    private readonly cache: FlagCache,
  ) {}

  onModuleInit(): void {
    this.catalog.addCheck((candidate) => this.problemsWith(candidate));
  }

  problemsWith(candidate: CatalogConfig): string[] {
    const models = new Set(candidate.catalog.models.map((model) => model.id));
    return this.cache.all().flatMap((flag) =>
      Object.entries(flag.variants)
        .map(([variant, value]) => ({ variant, model: modelOfVariant(value) }))
        .filter(({ model }) => !models.has(model))
        .map(
          ({ variant, model }) =>
            `models: "${model}" is missing, but variant "${variant}" of flag "${flag.key}" serves it; ` +
            'point the variant at another model (or archive the flag) first',
        ),
    );
  }
}

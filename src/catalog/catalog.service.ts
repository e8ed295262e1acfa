import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { catalogConfig, type CatalogConfig, type ProviderKeys } from '../config/catalog.config';
import type { CatalogModel, CatalogPolicy, CatalogProvider, CatalogSimulator } from '../config/catalog.schema';

/** Read access to the validated model catalog: providers, models, policies and provider keys. */
@Injectable()
export class CatalogService implements OnModuleInit {
  private readonly logger = new Logger(CatalogService.name);
  private readonly models: Map<string, CatalogModel>;
  private readonly providers: Map<string, CatalogProvider>;
  private readonly policies: Map<string, CatalogPolicy>;

  constructor(@Inject(catalogConfig.KEY) private readonly config: CatalogConfig) {
    this.models = new Map(config.catalog.models.map((m) => [m.id, m]));
    this.providers = new Map(config.catalog.providers.map((p) => [p.id, p]));
    this.policies = new Map(config.catalog.policies.map((p) => [p.name, p]));
  }

  onModuleInit(): void {
    const { catalog, source } = this.config;
    this.logger.log(
      `catalog from ${source}: ${catalog.providers.length} providers, ${catalog.models.length} models, ${catalog.policies.length} policies`,
    );
    for (const [providerId, keys] of Object.entries(this.config.keys)) {
      if (keys.developmentKeys) {
        this.logger.warn(
          `provider "${providerId}" uses the simulator's development keys (its key variables are unset)`,
        );
      }
    }
  }

  get source(): string {
    return this.config.source;
  }

  listModels(): CatalogModel[] {
    return [...this.models.values()];
  }

  listProviders(): CatalogProvider[] {
    return [...this.providers.values()];
  }

  listPolicies(): CatalogPolicy[] {
    return [...this.policies.values()];
  }

  findModel(id: string): CatalogModel | undefined {
    return this.models.get(id);
  }

  findProvider(id: string): CatalogProvider | undefined {
    return this.providers.get(id);
  }

  findPolicy(name: string): CatalogPolicy | undefined {
    return this.policies.get(name);
  }

  /** The simulator section, when this catalog asks the app to run the built-in simulated provider. */
  get simulator(): CatalogSimulator | undefined {
    return this.config.catalog.simulator;
  }

  /** Secret: for the provider client only. Never log, return or put it in an error. */
  keysFor(providerId: string): ProviderKeys {
    const keys = this.config.keys[providerId];
    if (!keys) throw new Error(`no keys resolved for provider "${providerId}"`);
    return keys;
  }
}

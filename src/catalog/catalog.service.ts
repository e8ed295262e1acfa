import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { catalogConfig, type CatalogConfig, type ProviderKeys } from '../config/catalog.config';
import type { CatalogModel, CatalogPolicy, CatalogProvider, CatalogSimulator } from '../config/catalog.schema';

/** A catalog replaced by a reload: every module that derived state from `previous` rebuilds it from `current`. */
export interface CatalogChange {
  previous: CatalogConfig;
  current: CatalogConfig;
}

/**
 * What a module that derives state from the catalog finds wrong with a candidate catalog (each
 * problem naming its path, as the loader does); an empty list when it can serve it. It is also
 * asked about a catalog the loader refused, so that one answer names every problem: its lists are
 * lists of entries, but any field may hold a value of the wrong type (already named by the loader).
 */
export type CatalogCheck = (candidate: CatalogConfig) => string[];

/** One catalog, indexed; replaced whole, so a reader holding it never sees half of a reload. */
interface CatalogSnapshot {
  config: CatalogConfig;
  sha256: string;
  models: Map<string, CatalogModel>;
  providers: Map<string, CatalogProvider>;
  policies: Map<string, CatalogPolicy>;
}

function snapshotOf(config: CatalogConfig): CatalogSnapshot {
  return {
    config,
    sha256: catalogSha256(config),
    models: new Map(config.catalog.models.map((m) => [m.id, m])),
    providers: new Map(config.catalog.providers.map((p) => [p.id, p])),
    policies: new Map(config.catalog.policies.map((p) => [p.name, p])),
  };
}

/** Identifies a catalog's content (never its keys), so replicas can tell whether they run the same one. */
export function catalogSha256(config: CatalogConfig): string {
  return createHash('sha256').update(JSON.stringify(config.catalog)).digest('hex');
}

/**
 * Read access to the validated model catalog — providers, models, policies and provider keys — and
 * the one place it changes at run time: `replace` swaps the whole catalog at once (a reload, see
 * CatalogReloader) and tells every module that subscribed with `onChange`. Modules that derive
 * state from the catalog also register a `CatalogCheck`, so a reload they could not serve is
 * refused before anything changes.
 */
@Injectable()
export class CatalogService implements OnModuleInit {
  private readonly logger = new Logger(CatalogService.name);
  private snapshot: CatalogSnapshot;
  private readonly listeners = new Set<(change: CatalogChange) => void>();
  private readonly checks = new Set<CatalogCheck>();

  constructor(@Inject(catalogConfig.KEY) config: CatalogConfig) {
    this.snapshot = snapshotOf(config);
  }

  onModuleInit(): void {
    const { catalog, source } = this.snapshot.config;
    this.logger.log(
      `catalog from ${source}: ${catalog.providers.length} providers, ${catalog.models.length} models, ${catalog.policies.length} policies`,
    );
    for (const [providerId, keys] of Object.entries(this.snapshot.config.keys)) {
      if (keys.developmentKeys) {
        this.logger.warn(
          `provider "${providerId}" uses the simulator's development keys (its key variables are unset)`,
        );
      }
    }
  }

  get source(): string {
    return this.snapshot.config.source;
  }

  /** The catalog in force (secrets included in `keys`: never log or return it whole). */
  get current(): CatalogConfig {
    return this.snapshot.config;
  }

  get sha256(): string {
    return this.snapshot.sha256;
  }

  listModels(): CatalogModel[] {
    return [...this.snapshot.models.values()];
  }

  listProviders(): CatalogProvider[] {
    return [...this.snapshot.providers.values()];
  }

  listPolicies(): CatalogPolicy[] {
    return [...this.snapshot.policies.values()];
  }

  findModel(id: string): CatalogModel | undefined {
    return this.snapshot.models.get(id);
  }

  findProvider(id: string): CatalogProvider | undefined {
    return this.snapshot.providers.get(id);
  }

  findPolicy(name: string): CatalogPolicy | undefined {
    return this.snapshot.policies.get(name);
  }

  /** The simulator section, when this catalog asks the app to run the built-in simulated provider. */
  get simulator(): CatalogSimulator | undefined {
    return this.snapshot.config.catalog.simulator;
  }

  /** Secret: for the provider client only. Never log, return or put it in an error. */
  keysFor(providerId: string): ProviderKeys {
    const keys = this.snapshot.config.keys[providerId];
    if (!keys) throw new Error(`no keys resolved for provider "${providerId}"`);
    return keys;
  }

  /** Registers a module's check of candidate catalogs (see CatalogCheck). */
  addCheck(check: CatalogCheck): void {
    this.checks.add(check);
  }

  /** Every problem the registered checks find with `candidate`; nothing changes. */
  problemsWith(candidate: CatalogConfig): string[] {
    return [...this.checks].flatMap((check) => check(candidate));
  }

  /**
   * Calls `listener` synchronously after every `replace`, in subscription order. A listener must not
   * throw (a failure is logged and the others still run). Returns the unsubscribe function.
   */
  onChange(listener: (change: CatalogChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Puts `next` in force at once. The caller has validated it and asked `problemsWith` first:
   * nothing here can refuse it any more.
   */
  replace(next: CatalogConfig): void {
    const previous = this.snapshot.config;
    this.snapshot = snapshotOf(next);
    for (const listener of this.listeners) {
      try {
        listener({ previous, current: next });
      } catch (error) {
        this.logger.error({ err: error }, 'a catalog listener failed to apply the new catalog');
      }
    }
  }
}

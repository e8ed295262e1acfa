import cluster from 'node:cluster';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CatalogService } from '../catalog/catalog.service';
import type { CatalogConfig } from '../config/catalog.config';
import { SimulatedProvider, type SimulatorOptions } from '@switchyard/simulator';

/**
 * Runs the built-in simulated provider inside the app when the catalog has a `simulator` section,
 * and keeps it serving the catalog's models and keys when the catalog is reloaded. Where it listens
 * (port, seed, the provider it stands in for, whether it runs at all) is fixed at start-up: a reload
 * that changes those is refused. Under WORKERS > 1 the primary runs the one simulator
 * (cluster-primary.ts), with the start-up catalog, not each worker.
 */
@Injectable()
export class SimulatorHost implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SimulatorHost.name);
  private simulator?: SimulatedProvider;

  constructor(private readonly catalog: CatalogService) {
    catalog.addCheck((candidate) => simulatorChangeProblems(this.catalog.current, candidate));
    catalog.onChange(({ current }) => this.simulator?.reconfigure(simulatorOptions(current)));
  }

  async onModuleInit(): Promise<void> {
    const section = this.catalog.simulator;
    if (!section || cluster.isWorker) return;
    this.simulator = createSimulator(this.catalog.current, section.port);
    await this.simulator.start();
    this.logger.log(`simulated provider "${section.provider}" listening on ${this.simulator.url}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.simulator?.stop();
  }
}

/** Builds a simulator from the catalog's simulator section: its provider's models, keys and profiles. */
export function createSimulator(config: CatalogConfig, port: number): SimulatedProvider {
  const section = config.catalog.simulator;
  if (!section) throw new Error('the catalog has no simulator section');
  return new SimulatedProvider({ port, seed: section.seed, ...simulatorOptions(config) });
}

/** The models and keys the simulator serves for a catalog. */
function simulatorOptions(config: CatalogConfig): Pick<SimulatorOptions, 'models' | 'apiKeys'> {
  const section = config.catalog.simulator;
  if (!section) throw new Error('the catalog has no simulator section');
  const keys = config.keys[section.provider];
  return {
    models: simulatedModels(config, section.provider, section.profiles),
    apiKeys: keys.backup ? { primary: keys.primary, backup: keys.backup } : { primary: keys.primary },
  };
}

/** One simulated model per upstream name: several catalog entries may share an upstream model. */
function simulatedModels(
  config: CatalogConfig,
  providerId: string,
  profiles: Record<string, Record<string, unknown>>,
): SimulatorOptions['models'] {
  const byUpstream = new Map<string, { id: string; profile?: Record<string, unknown> }>();
  for (const model of config.catalog.models) {
    if (model.provider !== providerId) continue;
    const known = byUpstream.get(model.upstreamModel);
    if (!known) byUpstream.set(model.upstreamModel, { id: model.upstreamModel, profile: profiles[model.id] });
    else known.profile ??= profiles[model.id];
  }
  return [...byUpstream.values()];
}

/** What a reload may not change about the simulator: it listens where it started until a restart. */
export function simulatorChangeProblems(current: CatalogConfig, candidate: CatalogConfig): string[] {
  const before = current.catalog.simulator;
  const after = candidate.catalog.simulator;
  if (!before && !after) return [];
  if (!before || !after) {
    return [`simulator: the built-in simulator ${before ? 'stops' : 'starts'} only with the app; restart to apply`];
  }
  return (['port', 'provider', 'seed'] as const)
    .filter((field) => before[field] !== after[field])
    .map((field) => `simulator.${field}: changes only with a restart (running with ${before[field]})`);
}

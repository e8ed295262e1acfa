import cluster from 'node:cluster';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CatalogService } from '../catalog/catalog.service';
import { SimulatedProvider } from '@switchyard/simulator';

/**
 * Runs the built-in simulated provider inside the app when the catalog has a `simulator` section.
 * Under WORKERS > 1 the primary runs the one simulator (cluster-primary.ts), not each worker.
 */
@Injectable()
export class SimulatorHost implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SimulatorHost.name);
  private simulator?: SimulatedProvider;

  constructor(private readonly catalog: CatalogService) {}

  async onModuleInit(): Promise<void> {
    const section = this.catalog.simulator;
    if (!section || cluster.isWorker) return;
    this.simulator = createSimulator(this.catalog, section.port);
    await this.simulator.start();
    this.logger.log(`simulated provider "${section.provider}" listening on ${this.simulator.url}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.simulator?.stop();
  }
}

/** Builds a simulator from the catalog's simulator section: its provider's models, keys and profiles. */
export function createSimulator(catalog: CatalogService, port: number): SimulatedProvider {
  const section = catalog.simulator;
  if (!section) throw new Error('the catalog has no simulator section');
  const keys = catalog.keysFor(section.provider);
  return new SimulatedProvider({
    port,
    seed: section.seed,
    models: simulatedModels(catalog, section.provider, section.profiles),
    apiKeys: keys.backup ? { primary: keys.primary, backup: keys.backup } : { primary: keys.primary },
  });
}

/** One simulated model per upstream name: several catalog entries may share an upstream model. */
function simulatedModels(
  catalog: CatalogService,
  providerId: string,
  profiles: Record<string, Record<string, unknown>>,
) {
  const byUpstream = new Map<string, { id: string; profile?: Record<string, unknown> }>();
  for (const model of catalog.listModels()) {
    if (model.provider !== providerId) continue;
    const known = byUpstream.get(model.upstreamModel);
    if (!known) byUpstream.set(model.upstreamModel, { id: model.upstreamModel, profile: profiles[model.id] });
    else known.profile ??= profiles[model.id];
  }
  return [...byUpstream.values()];
}

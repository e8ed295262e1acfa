import 'reflect-metadata';
import { catalogConfig } from '../config/catalog.config';
import { createSimulator } from './simulator-host';

/**
 * `npm run simulator`: the simulated provider alone, on the catalog's simulator port, with the
 * catalog's models, profiles and keys — for demos and for pointing other tools at it.
 */
async function runSimulator(): Promise<void> {
  const catalog = catalogConfig();
  const section = catalog.catalog.simulator;
  if (!section) throw new Error(`the catalog (${catalog.source}) has no "simulator" section`);
  const simulator = createSimulator(catalog, section.port);
  await simulator.start();
  console.log(
    `simulated provider listening on ${simulator.url} (admin: GET /_simulator/stats, PUT /_simulator/profiles/:model)`,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void simulator.stop().then(() => process.exit(0)));
  }
}

runSimulator().catch((error: unknown) => {
  console.error('simulator failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

import { accessConfig } from './access.config';
import { alertsConfig } from './alerts.config';
import { appConfig } from './app.config';
import { budgetsConfig } from './budgets.config';
import { canaryConfig } from './canary.config';
import { catalogConfig } from './catalog.config';
import type { CatalogDocument } from './catalog.schema';
import { databaseConfig } from './database.config';
import { gatewayConfig } from './gateway.config';
import { metricsConfig } from './metrics.config';
import { ConfigurationError } from './validate-config';

/** Every configuration namespace, in the order ConfigModule loads them. */
export const CONFIGURATION = [
  appConfig,
  databaseConfig,
  catalogConfig,
  gatewayConfig,
  metricsConfig,
  alertsConfig,
  canaryConfig,
  accessConfig,
  budgetsConfig,
];

/**
 * Validates every namespace before Nest builds anything. Nest instantiates providers concurrently,
 * so without this a bad catalog could fail start-up while the database factory was already
 * starting an embedded server or opening a pool that nothing would close.
 */
export function assertValidConfiguration(): void {
  for (const load of CONFIGURATION) load();
  const problems = environmentProblemsWith(catalogConfig().catalog);
  if (problems.length > 0) throw new ConfigurationError('environment', problems);
}

/** What the environment's settings require of a catalog: checked at start-up and on every catalog reload. */
export function environmentProblemsWith(catalog: CatalogDocument): string[] {
  const { referenceModel } = metricsConfig();
  const models = catalog.models.map((model) => model.id);
  if (models.includes(referenceModel)) return [];
  return [`METRICS_REFERENCE_MODEL: "${referenceModel}" is not a catalog model (catalog models: ${models.join(', ')})`];
}

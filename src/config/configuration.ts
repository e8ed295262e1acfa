import { accessConfig } from './access.config';
import { alertsConfig } from './alerts.config';
import { appConfig } from './app.config';
import { budgetsConfig } from './budgets.config';
import { canaryConfig } from './canary.config';
import { catalogConfig } from './catalog.config';
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
  const { referenceModel } = metricsConfig();
  const models = catalogConfig().catalog.models.map((model) => model.id);
  if (!models.includes(referenceModel)) {
    throw new ConfigurationError('environment', [
      `METRICS_REFERENCE_MODEL: "${referenceModel}" is not a catalog model (catalog models: ${models.join(', ')})`,
    ]);
  }
}

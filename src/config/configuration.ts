import { accessConfig } from './access.config';
import { alertsConfig } from './alerts.config';
import { appConfig } from './app.config';
import { budgetsConfig } from './budgets.config';
import { canaryConfig } from './canary.config';
import { catalogConfig, type CatalogConfig, CatalogProblems } from './catalog.config';
import type { CatalogDocument } from './catalog.schema';
import { databaseConfig } from './database.config';
import { gatewayConfig } from './gateway.config';
import { metricsConfig } from './metrics.config';
import { ConfigurationError, withoutRepeatedPaths } from './validate-config';

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
 * starting an embedded server or opening a pool that nothing would close. Every namespace is read
 * even when an earlier one is bad: the error lists all their problems, fixed in one go. The
 * `catalogChecks` of modules that cannot be imported here (a policy's strategy) run on the catalog
 * too, on one the loader refused as well when its lists could be read.
 */
export function assertValidConfiguration(catalogChecks: Array<(candidate: CatalogConfig) => string[]> = []): void {
  const failures: ConfigurationError[] = [];
  const read = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      failures.push(error);
      return undefined;
    }
  };
  const loaded = new Map<unknown, unknown>(CONFIGURATION.map((load) => [load, read<unknown>(load)]));
  const refused = failures.find((failure): failure is CatalogProblems => failure instanceof CatalogProblems);
  // Unset when the file could not be read as a catalog at all: nothing more to check on it.
  const catalog = (loaded.get(catalogConfig) as CatalogConfig | undefined) ?? refused?.candidate;
  if (catalog) {
    const checked = catalogChecks.flatMap((check) => check(catalog));
    if (refused) {
      const problems = withoutRepeatedPaths([refused.problems, checked]);
      failures.splice(failures.indexOf(refused), 1, new ConfigurationError(catalog.source, problems));
    } else if (checked.length > 0) {
      failures.push(new ConfigurationError(catalog.source, checked));
    }
    // What it asks of the catalog can only be checked once both have been read.
    if (loaded.get(metricsConfig)) {
      const problems = environmentProblemsWith(catalog.catalog);
      if (problems.length > 0) failures.push(new ConfigurationError('environment', problems));
    }
  }
  if (failures.length > 0) throw ConfigurationError.all(failures);
}

/** What the environment's settings require of a catalog: checked at start-up and on every catalog reload. */
export function environmentProblemsWith(catalog: CatalogDocument): string[] {
  const { referenceModel } = metricsConfig();
  const models = catalog.models.map((model) => model.id);
  if (models.includes(referenceModel)) return [];
  return [`METRICS_REFERENCE_MODEL: "${referenceModel}" is not a catalog model (catalog models: ${models.join(', ')})`];
}

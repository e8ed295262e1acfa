import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { registerAs } from '@nestjs/config';
import { IsOptional, IsString } from 'class-validator';
// A plain JSON import: `nest build` compiles it to require(), which cannot carry an import
// attribute. Jest (ESM mode) would warn about the missing attribute, so jest.config maps this
// import to test/support/default-catalog.ts, which reads the same file.
import defaultCatalog from './default-catalog.json';
import { applyProfilePatch, defaultModelProfile } from '@switchyard/simulator';
import { CatalogDocument, LEGACY_POLICY_STRATEGIES } from './catalog.schema';
import {
  checkConfig,
  ConfigurationError,
  IntegerBetween,
  validateConfig,
  withoutRepeatedPaths,
} from './validate-config';

/**
 * Keys the built-in simulator accepts when its provider's key variables are unset, so that a fresh
 * clone runs with no configuration. They unlock nothing but the local simulator.
 */
export const SIMULATOR_DEVELOPMENT_KEYS = { primary: 'sk-simulated-primary', backup: 'sk-simulated-backup' };

/** The catalog that ships in src/, used when SWITCHYARD_CATALOG is unset. */
export const DEFAULT_CATALOG: Readonly<typeof defaultCatalog> = defaultCatalog;

export interface ProviderKeys {
  primary: string;
  backup?: string;
  /** True when the simulator development keys stand in for unset variables. */
  developmentKeys: boolean;
}

export interface CatalogConfig {
  /** Where the catalog came from: a file path, or "default catalog". */
  source: string;
  catalog: CatalogDocument;
  /** Provider id -> keys read from the variables the catalog names. Never log or return these. */
  keys: Record<string, ProviderKeys>;
  /**
   * Reads the catalog again exactly as this one was read — the same SWITCHYARD_CATALOG, SIMULATOR_PORT
   * and key variables, as the process had them at start-up — for a reload. Set by readCatalogConfig.
   */
  reread?: () => CatalogConfig;
}

class CatalogEnvironment {
  @IsOptional()
  @IsString()
  SWITCHYARD_CATALOG?: string;

  @IsOptional()
  @IntegerBetween('SIMULATOR_PORT', 1, 65535)
  SIMULATOR_PORT?: number;
}

export const catalogConfig = registerAs('catalog', (): CatalogConfig => readCatalogConfig());

/**
 * The catalog as the environment names it (SWITCHYARD_CATALOG, SIMULATOR_PORT), read and validated:
 * at start-up, and again on every reload, so a reload reads exactly what a restart would.
 */
export function readCatalogConfig(environment: Record<string, string | undefined> = { ...process.env }): CatalogConfig {
  const names = ['SWITCHYARD_CATALOG', 'SIMULATOR_PORT'] as const;
  const set = Object.fromEntries(names.filter((name) => environment[name]).map((name) => [name, environment[name]]));
  const env = validateConfig(CatalogEnvironment, set, 'environment');
  const path = env.SWITCHYARD_CATALOG;
  const source = path ? resolve(path) : 'default catalog';
  const raw = path ? readCatalogFile(source) : defaultCatalog;
  const placed = env.SIMULATOR_PORT ? withSimulatorPort(raw, env.SIMULATOR_PORT, source) : raw;
  return { ...loadCatalog(placed, source, environment), reread: () => readCatalogConfig(environment) };
}

/**
 * SIMULATOR_PORT moves the built-in simulator without writing a catalog: the simulator section's
 * port, and the port of its provider's baseUrl when that pointed at the simulator, change together.
 */
function withSimulatorPort(raw: Record<string, unknown>, port: number, source: string): Record<string, unknown> {
  const catalog = structuredClone(raw) as {
    simulator?: { port?: unknown; provider?: unknown };
    providers?: Array<{ id?: unknown; baseUrl?: unknown }>;
  };
  const simulator = catalog.simulator;
  if (typeof simulator !== 'object' || simulator === null) {
    throw new ConfigurationError('environment', [
      `SIMULATOR_PORT: the catalog (${source}) runs no simulator (it has no "simulator" section); unset SIMULATOR_PORT`,
    ]);
  }
  const provider = Array.isArray(catalog.providers)
    ? catalog.providers.find((candidate) => candidate?.id === simulator.provider)
    : undefined;
  if (provider && typeof provider.baseUrl === 'string' && typeof simulator.port === 'number') {
    const url = URL.canParse(provider.baseUrl) ? new URL(provider.baseUrl) : undefined;
    if (url && pointsAtLocalPort(provider.baseUrl, simulator.port)) {
      url.port = String(port);
      provider.baseUrl = url.toString().replace(/\/$/, provider.baseUrl.endsWith('/') ? '/' : '');
    }
  }
  simulator.port = port;
  return catalog as Record<string, unknown>;
}

function readCatalogFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigurationError('SWITCHYARD_CATALOG', [`cannot read catalog file ${path} (${reason})`]);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigurationError(path, [`not valid JSON: ${(error as Error).message}`]);
  }
}

/**
 * A catalog the loader refused. `candidate` is the catalog as read, when its lists could be: never to
 * serve, only for the other modules' checks (strategies, flags' models), so that their problems come
 * in the same answer as the loader's.
 */
export class CatalogProblems extends ConfigurationError {
  constructor(
    source: string,
    problems: string[],
    readonly candidate?: CatalogConfig,
  ) {
    super(source, problems);
  }
}

/**
 * Validates a catalog document and resolves its provider keys from `env`. Every problem at once: a
 * field of the wrong type does not hide a reference to a missing model or an unset key variable.
 * Only a document whose lists are not lists of entries stops at its schema (the other checks walk
 * those lists).
 */
export function loadCatalog(
  raw: Record<string, unknown>,
  source: string,
  env: Record<string, string | undefined>,
): CatalogConfig {
  const { instance: catalog, problems: schemaProblems } = checkConfig(CatalogDocument, raw);
  if (!listsReadable(catalog)) throw new ConfigurationError(source, schemaProblems);
  const { keys, problems: keyProblems } = resolveKeys(catalog, env);
  const problems = withoutRepeatedPaths([
    schemaProblems,
    [...findReferenceProblems(catalog), ...policyProblems(catalog), ...keyProblems],
  ]);
  for (const policy of catalog.policies) policy.strategy ??= LEGACY_POLICY_STRATEGIES[policy.name];
  if (problems.length > 0) throw new CatalogProblems(source, problems, { source, catalog, keys });
  return { source, catalog, keys };
}

/** Whether the document's lists are lists of objects, and its simulator section (if any) an object. */
function listsReadable(catalog: CatalogDocument): boolean {
  const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
  const lists = [catalog.providers, catalog.models, catalog.policies] as unknown[];
  return (
    lists.every((list) => Array.isArray(list) && list.every(isObject)) &&
    (catalog.simulator === undefined || catalog.simulator === null || isObject(catalog.simulator))
  );
}

/**
 * A policy's own settings that contradict each other. Whether its strategy exists is the routing
 * module's to say (it owns the strategy classes; see policyBookProblems).
 */
function policyProblems(catalog: CatalogDocument): string[] {
  const problems: string[] = [];
  catalog.policies.forEach((policy, i) => {
    if (policy.strategy === undefined && !(policy.name in LEGACY_POLICY_STRATEGIES)) {
      problems.push(
        `policies[${i}].strategy: required (the strategy class this policy routes by, e.g. "cost_first"); ` +
          `only ${Object.keys(LEGACY_POLICY_STRATEGIES).join(', ')} may leave it out`,
      );
    }
    const { totalTimeoutMs, attemptTimeoutMs, firstTokenTimeoutMs } = policy.budgets ?? {};
    if (totalTimeoutMs !== undefined && attemptTimeoutMs !== undefined && attemptTimeoutMs > totalTimeoutMs) {
      problems.push(
        `policies[${i}].budgets.attemptTimeoutMs: ${attemptTimeoutMs} ms is more than totalTimeoutMs (${totalTimeoutMs} ms)`,
      );
    }
    if (attemptTimeoutMs !== undefined && firstTokenTimeoutMs !== undefined && firstTokenTimeoutMs > attemptTimeoutMs) {
      problems.push(
        `policies[${i}].budgets.firstTokenTimeoutMs: ${firstTokenTimeoutMs} ms is more than attemptTimeoutMs (${attemptTimeoutMs} ms)`,
      );
    }
  });
  return problems;
}

function duplicates(ids: string[]): Set<string> {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const id of ids) (seen.has(id) ? repeated : seen).add(id);
  return repeated;
}

/** Checks what class-validator cannot: that entries refer to each other correctly. */
function findReferenceProblems(catalog: CatalogDocument): string[] {
  const problems: string[] = [];
  const providerIds = new Set(catalog.providers.map((p) => p.id));
  const modelIds = new Set(catalog.models.map((m) => m.id));

  const repeatedProviders = duplicates(catalog.providers.map((p) => p.id));
  catalog.providers.forEach((p, i) => {
    if (repeatedProviders.has(p.id)) problems.push(`providers[${i}].id: duplicate provider "${p.id}"`);
  });
  const repeatedModels = duplicates(catalog.models.map((m) => m.id));
  catalog.models.forEach((m, i) => {
    if (repeatedModels.has(m.id)) problems.push(`models[${i}].id: duplicate model "${m.id}"`);
    if (!providerIds.has(m.provider)) problems.push(`models[${i}].provider: unknown provider "${m.provider}"`);
  });
  const repeatedPolicies = duplicates(catalog.policies.map((p) => p.name));
  const repeatedFlags = duplicates(catalog.policies.map((p) => p.flag));
  catalog.policies.forEach((p, i) => {
    if (repeatedPolicies.has(p.name)) problems.push(`policies[${i}].name: duplicate policy "${p.name}"`);
    if (repeatedFlags.has(p.flag)) problems.push(`policies[${i}].flag: flag "${p.flag}" is used by another policy`);
    if (!modelIds.has(p.defaultModel)) {
      problems.push(`policies[${i}].defaultModel: unknown model "${p.defaultModel}"`);
    }
    (Array.isArray(p.fallback) ? p.fallback : []).forEach((model, j) => {
      if (!modelIds.has(model)) problems.push(`policies[${i}].fallback[${j}]: unknown model "${model}"`);
      if (model === p.defaultModel) {
        problems.push(`policies[${i}].fallback[${j}]: "${model}" is the default model; a fallback must differ`);
      }
    });
  });

  const simulator = catalog.simulator;
  if (simulator) {
    const provider = catalog.providers.find((p) => p.id === simulator.provider);
    if (!provider) {
      problems.push(`simulator.provider: unknown provider "${simulator.provider}"`);
    } else if (URL.canParse(provider.baseUrl) && !pointsAtLocalPort(provider.baseUrl, simulator.port)) {
      problems.push(
        `simulator.port: provider "${provider.id}" has baseUrl ${provider.baseUrl}, which does not reach the simulator on port ${simulator.port}`,
      );
    }
    for (const [model, profile] of Object.entries(simulator.profiles ?? {})) {
      const entry = catalog.models.find((m) => m.id === model);
      if (!entry || entry.provider !== simulator.provider) {
        problems.push(`simulator.profiles.${model}: not a model of provider "${simulator.provider}"`);
      }
      try {
        applyProfilePatch(defaultModelProfile(), profile);
      } catch (error) {
        problems.push(`simulator.profiles.${model}: ${(error as Error).message}`);
      }
    }
  }
  return problems;
}

function pointsAtLocalPort(baseUrl: string, port: number): boolean {
  const url = new URL(baseUrl);
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  return local && Number(url.port) === port;
}

function resolveKeys(
  catalog: CatalogDocument,
  env: Record<string, string | undefined>,
): { keys: Record<string, ProviderKeys>; problems: string[] } {
  const keys: Record<string, ProviderKeys> = {};
  const problems: string[] = [];
  catalog.providers.forEach((provider, i) => {
    const primary = env[provider.apiKeyEnv] || undefined;
    const backup = provider.backupApiKeyEnv ? env[provider.backupApiKeyEnv] || undefined : undefined;
    if (primary) {
      keys[provider.id] = { primary, backup, developmentKeys: false };
    } else if (catalog.simulator?.provider === provider.id) {
      keys[provider.id] = { ...SIMULATOR_DEVELOPMENT_KEYS, developmentKeys: true };
    } else {
      problems.push(`providers[${i}].apiKeyEnv: environment variable ${provider.apiKeyEnv} is not set`);
    }
  });
  return { keys, problems };
}

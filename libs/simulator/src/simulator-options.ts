import {
  applyProfilePatch,
  defaultModelProfile,
  InvalidProfileError,
  type ModelProfilePatch,
} from './simulator-profile';

export interface SimulatorModelOptions {
  id: string;
  /** Merged over the defaults; validated at construction (it usually comes from a JSON catalog). */
  profile?: ModelProfilePatch;
}

export interface SimulatorOptions {
  /** 0 = pick a free port; `start()` resolves to the one bound. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 42. */
  seed?: number;
  models: SimulatorModelOptions[];
  /** label -> accepted key value, e.g. { primary: 'sk-..', backup: 'sk-..' }. Stats and errors use labels only. */
  apiKeys: Record<string, string>;
}

/** Throws one error listing every problem with the options, by name. Never includes a key value. */
export function assertValidOptions(options: SimulatorOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    problems.push('port must be an integer between 0 and 65535');
  }
  if (options.seed !== undefined && !Number.isInteger(options.seed)) problems.push('seed must be an integer');
  throwIfAny([...problems, ...checkModels(options.models), ...checkApiKeys(options.apiKeys)]);
}

/** The same for what a reconfiguration may change: models and keys. */
export function assertValidModelsAndKeys(options: Pick<SimulatorOptions, 'models' | 'apiKeys'>): void {
  throwIfAny([...checkModels(options.models), ...checkApiKeys(options.apiKeys)]);
}

function throwIfAny(problems: string[]): void {
  if (problems.length > 0) {
    throw new Error(`Invalid simulator options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function checkModels(models: SimulatorModelOptions[]): string[] {
  if (!Array.isArray(models) || models.length === 0) return ['models must list at least one model'];
  const problems: string[] = [];
  const seen = new Set<string>();
  models.forEach(({ id, profile }, index) => {
    if (typeof id !== 'string' || id === '') {
      problems.push(`models[${index}].id must be a non-empty string`);
      return;
    }
    if (seen.has(id)) problems.push(`models[${index}].id "${id}" is listed twice`);
    seen.add(id);
    try {
      applyProfilePatch(defaultModelProfile(), profile);
    } catch (error) {
      if (!(error instanceof InvalidProfileError)) throw error;
      problems.push(...error.problems.map((problem) => `models[${index}] (${id}).profile: ${problem}`));
    }
  });
  return problems;
}

function checkApiKeys(apiKeys: Record<string, string>): string[] {
  const entries = typeof apiKeys === 'object' && apiKeys !== null ? Object.entries(apiKeys) : [];
  if (entries.length === 0) return ['apiKeys must map at least one label to a key'];
  const problems: string[] = [];
  const labelByKey = new Map<string, string>();
  for (const [label, key] of entries) {
    if (typeof key !== 'string' || key === '') {
      problems.push(`apiKeys.${label} must be a non-empty string`);
    } else if (labelByKey.has(key)) {
      problems.push(`apiKeys.${label} has the same value as apiKeys.${labelByKey.get(key)}`);
    } else {
      labelByKey.set(key, label);
    }
  }
  return problems;
}

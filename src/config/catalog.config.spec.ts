import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  catalogConfig,
  DEFAULT_CATALOG as defaultCatalog,
  loadCatalog,
  SIMULATOR_DEVELOPMENT_KEYS,
} from './catalog.config';

type Catalog = typeof defaultCatalog & Record<string, unknown>;

function catalogWith(edit: (catalog: Catalog) => void): Record<string, unknown> {
  const catalog = structuredClone(defaultCatalog) as Catalog;
  edit(catalog);
  return catalog;
}

function problemsOf(raw: Record<string, unknown>, env: Record<string, string> = {}): string {
  try {
    loadCatalog(raw, 'test catalog', env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the catalog to be rejected');
}

describe('loadCatalog', () => {
  it('accepts the default catalog with the simulator development keys when its key variables are unset', () => {
    const { keys, catalog } = loadCatalog(defaultCatalog, 'default', {});
    expect(catalog.models.map((m) => m.id)).toEqual([
      'deepseek-v3.2',
      'gemini-2.5-flash',
      'claude-sonnet-4.5',
      'gpt-4.1',
    ]);
    expect(keys.simulated).toEqual({ ...SIMULATOR_DEVELOPMENT_KEYS, developmentKeys: true });
  });

  it('reads the keys from the variables the catalog names', () => {
    const { keys } = loadCatalog(defaultCatalog, 'default', {
      SIMULATED_API_KEY: 'k1',
      SIMULATED_API_KEY_BACKUP: 'k2',
    });
    expect(keys.simulated).toEqual({ primary: 'k1', backup: 'k2', developmentKeys: false });
  });

  it('names fields of the wrong type or range by their path', () => {
    const message = problemsOf(
      catalogWith((c) => {
        c.models[2].pricing.inputPer1M = -1;
        c.providers[0].baseUrl = 'not a url';
        (c.models[0] as Record<string, unknown>).contextWindow = '128k';
      }),
    );
    expect(message).toContain('models[2].pricing.inputPer1M: inputPer1M must not be negative');
    expect(message).toContain('providers[0].baseUrl: baseUrl must be an http(s) URL');
    expect(message).toContain('models[0].contextWindow: contextWindow must be a positive integer number of tokens');
  });

  it('names a price in exponent form with too many decimals, and takes one JavaScript prints so that is exact', () => {
    const message = problemsOf(
      catalogWith((c) => {
        c.models[0].pricing.inputPer1M = 1e-7;
        c.models[1].pricing.outputPer1M = 1e-320;
      }),
    );
    expect(message).toContain(
      'models[0].pricing.inputPer1M: inputPer1M must be a price in USD per million input tokens, with at most 6 decimals',
    );
    expect(message).toContain(
      'models[1].pricing.outputPer1M: outputPer1M must be a price in USD per million output tokens, with at most 6 decimals',
    );
    const { catalog } = loadCatalog(
      catalogWith((c) => (c.models[0].pricing.inputPer1M = 1e-6)),
      'test catalog',
      {},
    );
    expect(catalog.models[0].pricing.inputPer1M).toBe(0.000001);
  });

  it('rejects references to providers and models that do not exist, and duplicates', () => {
    const message = problemsOf(
      catalogWith((c) => {
        c.providers.push({ ...c.providers[0] });
        c.policies[0].fallback = ['gemini-2.5-flash', 'gpt-5'];
        c.policies[1].fallback = ['gemini-2.5-flash'];
        c.policies[2].name = 'chat';
      }),
    );
    expect(message).toContain('providers[1].id: duplicate provider "simulated"');
    expect(message).toContain('policies[0].fallback[1]: unknown model "gpt-5"');
    expect(message).toContain(
      'policies[1].fallback[0]: "gemini-2.5-flash" is the default model; a fallback must differ',
    );
    expect(message).toContain('policies[2].name: duplicate policy "chat"');
  });

  it('fills in the strategy of the three original policies, and requires it of any other', () => {
    const { catalog } = loadCatalog(
      catalogWith((c) => c.policies.forEach((policy) => delete (policy as { strategy?: string }).strategy)),
      'test catalog',
      {},
    );
    expect(catalog.policies.map((p) => p.strategy)).toEqual(['cost_first', 'latency_first', 'quality_first']);
    const message = problemsOf(
      catalogWith((c) => {
        (c.policies as unknown[]).push({ name: 'search', flag: 'search-model', defaultModel: 'gpt-4.1', fallback: [] });
      }),
    );
    expect(message).toContain('policies[3].strategy: required (the strategy class this policy routes by');
  });

  it('names budgets that contradict each other', () => {
    const message = problemsOf(
      catalogWith((c) => {
        (c.policies[0] as Record<string, unknown>).budgets = { totalTimeoutMs: 1000, attemptTimeoutMs: 2000 };
        (c.policies[2] as Record<string, unknown>).budgets = { attemptTimeoutMs: 1000, firstTokenTimeoutMs: 3000 };
      }),
    );
    expect(message).toContain('policies[0].budgets.attemptTimeoutMs: 2000 ms is more than totalTimeoutMs (1000 ms)');
    expect(message).toContain(
      'policies[2].budgets.firstTokenTimeoutMs: 3000 ms is more than attemptTimeoutMs (1000 ms)',
    );
  });

  it('names budgets out of range', () => {
    const message = problemsOf(
      catalogWith((c) => {
        (c.policies[1] as Record<string, unknown>).budgets = {
          attemptTimeoutMs: 50,
          maxRetriesPerModel: 11,
          fallbackTiers: 'cheaper',
        };
      }),
    );
    expect(message).toContain(
      'policies[1].budgets.attemptTimeoutMs: attemptTimeoutMs must be an integer number of milliseconds (100-600000)',
    );
    expect(message).toContain(
      'policies[1].budgets.maxRetriesPerModel: maxRetriesPerModel must be an integer from 0 to 10',
    );
    expect(message).toContain(
      'policies[1].budgets.fallbackTiers: fallbackTiers must be one of: any, same_or_higher, none',
    );
  });

  it('checks that the simulator is reachable at its provider and that its profiles are valid', () => {
    const message = problemsOf(
      catalogWith((c) => {
        c.simulator.port = 4999;
        (c.simulator.profiles as Record<string, unknown>)['gpt-4.1'] = { errorRate: 3 };
        (c.simulator.profiles as Record<string, unknown>)['gpt-9'] = {};
      }),
    );
    expect(message).toContain('simulator.port: provider "simulated" has baseUrl http://127.0.0.1:4010/v1');
    expect(message).toContain('simulator.profiles.gpt-4.1: ');
    expect(message).toContain('errorRate must be a number between 0 and 1');
    expect(message).toContain('simulator.profiles.gpt-9: not a model of provider "simulated"');
  });

  it('names the references and keys of a catalog whose fields are wrong too, each path once', () => {
    const message = problemsOf(
      catalogWith((c) => {
        c.providers.push({ ...c.providers[0], id: 'openai', apiKeyEnv: 'OPENAI_KEY_FOR_TEST' });
        // The simulator's provider: its baseUrl is checked against the simulator's port.
        c.providers[0].baseUrl = 'not a url';
        (c.policies[0] as Record<string, unknown>).fallback = 'gpt-4.1';
        (c.simulator as Record<string, unknown>).profiles = null;
        c.models[1].provider = 'nowhere';
        // Wrong type, and so no provider's id: said once.
        (c.models[2] as Record<string, unknown>).provider = 7;
      }),
    );
    expect(message).toBe(
      [
        'Invalid configuration in test catalog:',
        '  - providers[0].baseUrl: baseUrl must be an http(s) URL such as https://api.openai.com/v1',
        '  - models[2].provider: provider must be the id of a provider in this catalog',
        '  - policies[0].fallback: fallback must not name a model twice',
        '  - policies[0].fallback: fallback must be a list of model ids (may be empty)',
        '  - models[1].provider: unknown provider "nowhere"',
        '  - providers[1].apiKeyEnv: environment variable OPENAI_KEY_FOR_TEST is not set',
      ].join('\n'),
    );
  });

  it('stops at the schema when the catalog has no lists to check further', () => {
    expect(problemsOf(catalogWith((c) => ((c as Record<string, unknown>).models = 'none')))).toBe(
      'Invalid configuration in test catalog:\n  - models: models must be a list\n' +
        '  - models: each value in nested property models must be either object or array',
    );
  });
});

describe('SIMULATOR_PORT', () => {
  function catalogWithEnv(env: Record<string, string>) {
    const previous = { ...process.env };
    Object.assign(process.env, env);
    try {
      return catalogConfig();
    } finally {
      for (const name of Object.keys(env)) {
        if (previous[name] === undefined) delete process.env[name];
        else process.env[name] = previous[name];
      }
    }
  }

  it('moves the simulator and the baseUrl of its provider together, without a catalog file', () => {
    const { catalog } = catalogWithEnv({ SIMULATOR_PORT: '4555' });
    expect(catalog.simulator?.port).toBe(4555);
    expect(catalog.providers[0].baseUrl).toBe('http://127.0.0.1:4555/v1');
    expect(defaultCatalog.simulator.port).toBe(4010);
  });

  it('says what is wrong with a port that is not one', () => {
    expect(() => catalogWithEnv({ SIMULATOR_PORT: 'forty' })).toThrow(
      'SIMULATOR_PORT: SIMULATOR_PORT must be an integer between 1 and 65535',
    );
  });

  it('refuses to move a simulator the catalog does not run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-catalog-'));
    try {
      const path = join(dir, 'catalog.json');
      const { simulator: _simulator, ...withoutSimulator } = structuredClone(defaultCatalog) as Catalog;
      writeFileSync(path, JSON.stringify(withoutSimulator));
      expect(() =>
        catalogWithEnv({ SIMULATOR_PORT: '4555', SWITCHYARD_CATALOG: path, SIMULATED_API_KEY: 'k' }),
      ).toThrow(`SIMULATOR_PORT: the catalog (${path}) runs no simulator`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

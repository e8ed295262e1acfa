import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const CONFIG_DIR = join(process.cwd(), 'src/config');

/** Every variable a config namespace reads: fields of its *Environment class and literal readEnv lists. */
function variablesReadByConfig(): string[] {
  const names = new Set<string>();
  for (const file of readdirSync(CONFIG_DIR).filter((name) => name.endsWith('.config.ts'))) {
    const source = readFileSync(join(CONFIG_DIR, file), 'utf8');
    for (const [, name] of source.matchAll(/^\s+([A-Z][A-Z0-9_]{2,})(?:\??:|\s*=)/gm)) names.add(name);
    for (const [, list] of source.matchAll(/readEnv\(\[([^\]]*)\]\)/g)) {
      for (const [, name] of list.matchAll(/'([A-Z][A-Z0-9_]+)'/g)) names.add(name);
    }
  }
  return [...names].sort();
}

describe('configuration documentation', () => {
  const variables = variablesReadByConfig();

  it('finds the variables (the scan itself works)', () => {
    expect(variables).toEqual(
      expect.arrayContaining([
        'PORT',
        'DATABASE_URL',
        'GATEWAY_MAX_RETRIES',
        'METRICS_QUEUE_LIMIT',
        'CANARY_TICK_SECONDS',
      ]),
    );
  });

  it.each(['.env.example', 'README.md'])('documents every variable in %s', (file) => {
    const text = readFileSync(join(process.cwd(), file), 'utf8');
    expect(variables.filter((name) => !text.includes(name))).toEqual([]);
  });
});

import { DEFAULT_CATALOG, loadCatalog } from '../config/catalog.config';
import { catalogChanges } from './catalog-changes';

const load = (edit: (raw: any) => void = () => undefined) => {
  const raw = structuredClone(DEFAULT_CATALOG) as any;
  edit(raw);
  return loadCatalog(raw, 'test', {}).catalog;
};

describe('catalogChanges', () => {
  it('lists entries added, removed and changed, with the fields that changed', () => {
    const before = load();
    const after = load((raw) => {
      raw.models[0].pricing = { inputPer1M: 0.3, outputPer1M: 0.42 };
      raw.policies = raw.policies.filter((policy: { name: string }) => policy.name !== 'fraud');
      raw.policies.push({
        name: 'search',
        strategy: 'latency_first',
        flag: 'search-model',
        defaultModel: 'gpt-4.1',
        fallback: [],
      });
      raw.policies[0].budgets = { attemptTimeoutMs: 5000 };
      raw.simulator.seed = 7;
    });
    expect(catalogChanges(before, after)).toEqual([
      { section: 'models', id: 'deepseek-v3.2', change: 'changed', fields: ['pricing'] },
      { section: 'policies', id: 'recommendations', change: 'changed', fields: ['budgets'] },
      { section: 'policies', id: 'search', change: 'added' },
      { section: 'policies', id: 'fraud', change: 'removed' },
      { section: 'simulator', id: 'simulator', change: 'changed', fields: ['seed'] },
    ]);
  });

  it('sees no change in a catalog whose keys are only in another order', () => {
    const before = load();
    const after = load((raw) => {
      raw.models[0] = Object.fromEntries(Object.entries(raw.models[0]).reverse());
    });
    expect(catalogChanges(before, after)).toEqual([]);
  });
});

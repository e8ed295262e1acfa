import type { PostgresListener } from '../database/postgres-listener';
import type { FlagEntity } from './entities/flag.entity';
import { FlagCache } from './flag-cache';
import type { FlagsRepository } from './flags.repository';

function row(key: string, version: number, overrides: Partial<FlagEntity> = {}): FlagEntity {
  return {
    key,
    description: '',
    enabled: true,
    variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
    defaultVariant: 'control',
    rollout: { treatment: 500 },
    rules: [],
    salt: key,
    version,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    archivedAt: null,
    ...overrides,
  };
}

/** A stand-in for the flags table whose answers (or outage) each test sets. */
class FakeFlagsRepository {
  rows: FlagEntity[] = [];
  down = false;
  async findAll(): Promise<FlagEntity[]> {
    if (this.down) throw new Error('connection refused');
    return this.rows.filter((r) => r.archivedAt === null);
  }
  async findByKey(key: string): Promise<FlagEntity | null> {
    if (this.down) throw new Error('connection refused');
    return this.rows.find((r) => r.key === key) ?? null;
  }
}

describe('FlagCache', () => {
  let table: FakeFlagsRepository;
  let cache: FlagCache;

  beforeEach(() => {
    table = new FakeFlagsRepository();
    // These tests read and reload; the listener is never reached.
    cache = new FlagCache(table as unknown as FlagsRepository, {} as PostgresListener);
  });

  it('keeps serving the last known flags while the database is down', async () => {
    table.rows = [row('a', 1), row('b', 3)];
    await cache.reloadAll();
    table.down = true;
    await cache.reloadAll();
    await cache.reload('a');
    expect(cache.get('a')?.version).toBe(1);
    expect(cache.get('b')?.version).toBe(3);
  });

  it('never replaces a flag with an older version than the one it holds', async () => {
    cache.put({ ...(await loaded(row('a', 5))) });
    table.rows = [row('a', 4)];
    await cache.reloadAll();
    await cache.reload('a');
    expect(cache.get('a')?.version).toBe(5);
  });

  it('drops archived, deleted and unservable flags', async () => {
    table.rows = [
      row('a', 1),
      row('b', 1),
      row('bad', 1, { rollout: { treatment: 20000 } }),
      row('ghost', 1, { defaultVariant: 'nope' }),
    ];
    await cache.reloadAll();
    expect([cache.get('a'), cache.get('bad'), cache.get('ghost')].map((flag) => flag?.key)).toEqual([
      'a',
      undefined,
      undefined,
    ]);
    table.rows = [row('a', 2, { archivedAt: new Date() })];
    await cache.reload('a');
    await cache.reload('b');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeUndefined();
  });

  async function loaded(entity: FlagEntity) {
    table.rows = [entity];
    await cache.reload(entity.key);
    const flag = cache.get(entity.key);
    if (!flag) throw new Error('not loaded');
    return flag;
  }
});

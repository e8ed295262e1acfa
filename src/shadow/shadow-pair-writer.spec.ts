import { Registry } from 'prom-client';
import type { AppConfig } from '../config/app.config';
import type { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { ShadowCounters } from './shadow-counters';
import { ShadowPairWriter } from './shadow-pair-writer';
import type { ShadowPairRow, ShadowPairsRepository } from './shadow-pairs.repository';
import type { ShadowStages } from './shadow-stages';
import { ShutdownDeadline } from '../database/shutdown-deadline';

/** shadow_pairs in memory: stores each batch, or rejects it while `down`. */
class FakePairs {
  readonly stored: string[] = [];
  down = false;

  async insert(rows: readonly ShadowPairRow[]): Promise<void> {
    if (this.down) throw new Error('connection refused');
    this.stored.push(...rows.map((row) => row.id));
  }
}

const pair = (id: string) => ({ id }) as ShadowPairRow;

describe('ShadowPairWriter', () => {
  let registry: Registry;
  let pairs: FakePairs;
  let writer: ShadowPairWriter;

  beforeEach(() => {
    registry = new Registry();
    pairs = new FakePairs();
    const counters = new ShadowCounters({ registry } as PrometheusMetrics, { size: 0 } as ShadowStages);
    // The smallest shutdown budget: the final flush gives up after a second.
    writer = new ShadowPairWriter(
      pairs as unknown as ShadowPairsRepository,
      counters,
      { shutdownTimeoutMs: 2_000 } as AppConfig,
      new ShutdownDeadline(),
    );
  });

  async function notRecorded(): Promise<Record<string, number>> {
    const metric = await registry.getSingleMetric('switchyard_shadow_calls_total')!.get();
    return Object.fromEntries(
      metric.values.filter((v) => v.labels.result === 'not_recorded').map((v) => [v.labels.flag, v.value]),
    );
  }

  it('writes the pairs it queued, and counts none as not recorded', async () => {
    writer.enqueue(pair('a'), 'checkout');
    writer.enqueue(pair('b'), 'search');
    await writer.flush();
    expect(pairs.stored).toEqual(['a', 'b']);
    expect(await notRecorded()).toEqual({});
  });

  it('counts under its flag every pair the queue cannot take while the database is down', async () => {
    pairs.down = true;
    for (let i = 0; i < 10_000; i++) writer.enqueue(pair(`p${i}`), 'checkout');
    writer.enqueue(pair('over-1'), 'checkout');
    writer.enqueue(pair('over-2'), 'search');
    expect(await notRecorded()).toEqual({ checkout: 1, search: 1 });
  });

  it('counts the pairs still unwritten when the final flush runs out of time, and any pair after it', async () => {
    writer.enqueue(pair('a'), 'checkout');
    writer.enqueue(pair('b'), 'search');
    writer.enqueue(pair('c'), 'search');
    pairs.down = true;
    await writer.beforeApplicationShutdown();
    expect(await notRecorded()).toEqual({ checkout: 1, search: 2 });

    pairs.down = false;
    writer.enqueue(pair('late'), 'checkout');
    await writer.flush();
    expect(pairs.stored).toEqual([]);
    expect(await notRecorded()).toEqual({ checkout: 2, search: 2 });
  });
});

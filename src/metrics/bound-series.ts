import type { Registry } from 'prom-client';

/**
 * Prometheus counters and histograms for the request path, registered in a prom-client Registry
 * like any other metric, but updated through handles bound to one label set. prom-client hashes and
 * validates the label object on every inc/observe (a few µs per request over the gateway's series,
 * docs/benchmarks.md); a handle is looked up once per label set and then only adds numbers.
 */

type Labels = Record<string, string>;

interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry reads from a metric (its own metrics return the same shape). */
interface MetricOutput {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: Sample[];
  aggregator: 'sum';
}

abstract class BoundSeries<Handle> {
  readonly aggregator = 'sum';
  private readonly handles = new Map<string, { labels: Labels; handle: Handle }>();

  protected constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The handle of one label set, values in the order of the label names. */
  bind(...values: string[]): Handle {
    const key = values.join('\u0000');
    let entry = this.handles.get(key);
    if (!entry) {
      const labels = Object.fromEntries(this.labelNames.map((name, i) => [name, values[i]]));
      entry = { labels, handle: this.newHandle() };
      this.handles.set(key, entry);
    }
    return entry.handle;
  }

  protected abstract newHandle(): Handle;

  /** Bound label sets that were used: one bound for a request that left a series untouched is not shown. */
  protected series(used: (handle: Handle) => boolean): Array<{ labels: Labels; handle: Handle }> {
    return [...this.handles.values()].filter((entry) => used(entry.handle));
  }
}

export interface CounterHandle {
  value: number;
}

export class BoundCounter extends BoundSeries<CounterHandle> {
  readonly type = 'counter';

  constructor(registry: Registry, options: { name: string; help: string; labelNames: readonly string[] }) {
    super(options.name, options.help, options.labelNames, registry);
  }

  protected newHandle(): CounterHandle {
    return { value: 0 };
  }

  get(): MetricOutput {
    const values = this.series((handle) => handle.value !== 0).map(({ labels, handle }) => ({
      labels,
      value: handle.value,
    }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class HistogramHandle {
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    let bucket = 0;
    while (bucket < this.bounds.length && value > this.bounds[bucket]) bucket++;
    this.counts[bucket]++;
    this.sum += value;
    this.count++;
  }
}

export class BoundHistogram extends BoundSeries<HistogramHandle> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(
    registry: Registry,
    options: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[] },
  ) {
    super(options.name, options.help, options.labelNames, registry);
    this.bounds = [...options.buckets].sort((a, b) => a - b);
  }

  protected newHandle(): HistogramHandle {
    return new HistogramHandle(this.bounds);
  }

  get(): MetricOutput {
    const values: Sample[] = [];
    for (const { labels, handle } of this.series((handle) => handle.count > 0)) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += handle.counts[i];
        const le = i < this.bounds.length ? this.bounds[i] : '+Inf';
        values.push({ labels: { le: String(le), ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels, value: handle.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: handle.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

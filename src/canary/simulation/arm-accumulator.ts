import {
  COUNTERS,
  HISTOGRAM_BINS,
  VARIANCE_BUCKETS,
  emptyBuckets,
  outcomeCounters,
  type ArmBucket,
  type ArmWindow,
  type BelowSpec,
  type Counter,
} from '@switchyard/stats';

/*
 * One arm of one stage in the simulator: the same numbers the SQL of src/metrics computes from
 * request_metrics (canary-window.repository.ts), kept incrementally as simulated requests arrive.
 * Per variance bucket, the counters and Fenwick trees over the latency grid, so that "rows below
 * bin k" per bucket costs log(bins) at each look.
 */
// Copied once: every read of an imported binding is a property lookup in the compiled output.
const BINS = HISTOGRAM_BINS;
const BUCKETS = VARIANCE_BUCKETS;
const SIZE = BINS + 1;
/** Counters copied as they are into a look's window (abandonments are worked out per look). */
const COUNTED: ReadonlyArray<Counter | 'rows'> = ['rows', ...COUNTERS.filter((name) => name !== 'abandoned')];

const Tree = { Latency: 0, Ttft: 1, AbortWait: 2 } as const;
type Tree = (typeof Tree)[keyof typeof Tree];

export class ArmAccumulator {
  units = 0;
  rows = 0;
  requests = 0;
  readonly pooled = {
    latency: new Float64Array(HISTOGRAM_BINS),
    ttft: new Float64Array(HISTOGRAM_BINS),
    ttfb: new Float64Array(HISTOGRAM_BINS),
  };
  private readonly counters = Object.fromEntries(
    ['rows', ...COUNTERS].map((name) => [name, new Float64Array(VARIANCE_BUCKETS)]),
  ) as Record<Counter | 'rows', Float64Array>;
  private readonly trees = [0, 1, 2].map(() => new Float64Array(VARIANCE_BUCKETS * SIZE));
  private readonly aborts = new Float64Array(VARIANCE_BUCKETS);
  private readonly window: ArmWindow = {
    pooled: { units: 0, rows: 0, requests: 0, histograms: this.pooled },
    buckets: emptyBuckets(),
  };

  row(bucket: number): void {
    this.rows++;
    this.counters.rows[bucket]++;
  }

  invalid(bucket: number): void {
    this.counters.judgedRows[bucket]++;
    this.counters.invalid[bucket]++;
  }

  request(bucket: number): void {
    this.requests++;
    this.counters.requests[bucket]++;
    this.counters.judgedRows[bucket]++;
  }

  failure(bucket: number): void {
    this.counters.failures[bucket]++;
  }

  cost(bucket: number, usd: number): void {
    this.counters.costUsd[bucket] += usd;
  }

  /** The client left before the first byte, after waiting this bin's time. */
  aborted(bucket: number, waitBin: number): void {
    this.aborts[bucket]++;
    this.add(Tree.AbortWait, bucket, waitBin);
  }

  /** Per outcome metric: its units and their values' sum, per bucket. */
  private readonly outcomes = new Map<string, { n: Float64Array; sum: Float64Array }>();

  /** A unit of an outcome metric (a user exposed in the stage) and its value. */
  outcome(metric: string, bucket: number, value: number): void {
    let arrays = this.outcomes.get(metric);
    if (!arrays) {
      arrays = { n: new Float64Array(VARIANCE_BUCKETS), sum: new Float64Array(VARIANCE_BUCKETS) };
      this.outcomes.set(metric, arrays);
    }
    arrays.n[bucket]++;
    arrays.sum[bucket] += value;
  }

  /** A complete answer (whoever gave it), and the quality signal it had, if any. */
  answer(bucket: number, signal: Counter | null): void {
    this.counters.answers[bucket]++;
    if (signal) this.counters[signal][bucket]++;
  }

  answered(bucket: number, latencyBin: number, ttfbBin: number, ttftBin: number): void {
    this.counters.latencyRows[bucket]++;
    this.pooled.latency[latencyBin]++;
    this.pooled.ttfb[ttfbBin]++;
    this.add(Tree.Latency, bucket, latencyBin);
    if (ttftBin >= 0) {
      this.counters.ttftRows[bucket]++;
      this.pooled.ttft[ttftBin]++;
      this.add(Tree.Ttft, bucket, ttftBin);
    }
  }

  /** The first step of a look: the arm's pooled counts and histograms (the object is reused). */
  pooledView(): ArmWindow['pooled'] {
    const pooled = this.window.pooled;
    pooled.units = this.units;
    pooled.rows = this.rows;
    pooled.requests = this.requests;
    return pooled;
  }

  /**
   * The arm's window as the engine reads it, with the abandonments and the rows below the
   * planned bins counted per bucket. The object is reused from look to look.
   */
  toWindow(specs: readonly BelowSpec[], abandonmentBin: number): ArmWindow {
    const window = this.window;
    this.pooledView();
    for (let g = 0; g < BUCKETS; g++) {
      const bucket: ArmBucket = window.buckets[g];
      const counters = bucket.counters;
      for (const name of COUNTED) counters[name] = this.counters[name][g];
      for (const [metric, arrays] of this.outcomes) {
        const keys = outcomeCounters(metric);
        counters[keys.n] = arrays.n[g];
        counters[keys.sum] = arrays.sum[g];
      }
      counters.abandoned = this.aborts[g] - this.prefix(Tree.AbortWait, g, abandonmentBin);
      bucket.below.length = specs.length;
      for (let i = 0; i < specs.length; i++) {
        const spec = specs[i];
        bucket.below[i] = this.prefix(spec.histogram === 'latency' ? Tree.Latency : Tree.Ttft, g, spec.bin);
      }
    }
    return window;
  }

  private add(tree: Tree, bucket: number, bin: number): void {
    const array = this.trees[tree];
    const base = bucket * SIZE;
    for (let i = bin + 1; i < SIZE; i += i & -i) array[base + i]++;
  }

  /** Rows of the bucket in bins below `bin`. */
  private prefix(tree: Tree, bucket: number, bin: number): number {
    const array = this.trees[tree];
    const base = bucket * SIZE;
    let sum = 0;
    for (let i = bin < BINS ? bin : BINS; i > 0; i -= i & -i) sum += array[base + i];
    return sum;
  }
}

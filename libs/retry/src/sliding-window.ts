/*
 * Counts of a few kinds of event (series) over the last `windowMs`, kept in a fixed ring of
 * `bucketCount` buckets of windowMs / bucketCount each, plus running totals. Memory is fixed and
 * every call is O(1) (O(bucketCount) at worst, when a long idle gap expires the whole ring),
 * whatever the traffic.
 *
 * Resolution is one bucket: an event is forgotten when its bucket leaves the ring, between
 * windowMs - bucketMs and windowMs after it happened — never later than windowMs.
 */
export class SlidingWindowCounter {
  private readonly bucketMs: number;
  private readonly buckets: Float64Array; // bucketCount × series, bucket-major
  private readonly totals: Float64Array;
  private headEpoch: number | undefined; // index of the bucket "now" is in; undefined before use

  constructor(
    readonly windowMs: number,
    readonly series: number,
    private readonly now: () => number,
    readonly bucketCount = 10,
  ) {
    if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${windowMs}`);
    if (!(Number.isInteger(series) && series >= 1))
      throw new RangeError(`series must be an integer >= 1, got ${series}`);
    if (!(Number.isInteger(bucketCount) && bucketCount >= 1)) {
      throw new RangeError(`bucketCount must be an integer >= 1, got ${bucketCount}`);
    }
    this.bucketMs = windowMs / bucketCount;
    this.buckets = new Float64Array(bucketCount * series);
    this.totals = new Float64Array(series);
  }

  add(series: number, n = 1): void {
    const slot = this.slotOf(this.advance());
    this.buckets[slot * this.series + series] += n;
    this.totals[series] += n;
  }

  total(series: number): number {
    this.advance();
    return this.totals[series];
  }

  reset(): void {
    this.buckets.fill(0);
    this.totals.fill(0);
  }

  // Moves the head to the current bucket, clearing the buckets that fell out of the window.
  // A clock that steps back (wall clocks do) is treated as standing still.
  private advance(): number {
    const epoch = Math.floor(this.now() / this.bucketMs);
    if (this.headEpoch === undefined) {
      this.headEpoch = epoch;
      return epoch;
    }
    if (epoch <= this.headEpoch) return this.headEpoch;
    if (epoch - this.headEpoch >= this.bucketCount) {
      this.reset();
    } else {
      for (let e = this.headEpoch + 1; e <= epoch; e++) this.clearSlot(this.slotOf(e));
    }
    this.headEpoch = epoch;
    return epoch;
  }

  private slotOf(epoch: number): number {
    return ((epoch % this.bucketCount) + this.bucketCount) % this.bucketCount;
  }

  private clearSlot(slot: number): void {
    const base = slot * this.series;
    for (let s = 0; s < this.series; s++) {
      this.totals[s] -= this.buckets[base + s];
      this.buckets[base + s] = 0;
    }
  }
}

import { BASELINE_SECONDS, HISTOGRAM_BINS, RECENT_SECONDS, type ControlWindow } from '@switchyard/stats';

const FIELDS = 2 + 3 * HISTOGRAM_BINS;
const REQUESTS = 0;
const FAILURES = 1;
const LATENCY = 2;
const TTFT = 2 + HISTOGRAM_BINS;
const TTFB = 2 + 2 * HISTOGRAM_BINS;

/**
 * The control arm tick by tick, for its two rolling windows: the last RECENT_SECONDS and the
 * BASELINE_SECONDS before them, which is what the executor reads from request_metrics for the
 * control-degradation check. Each tick's figures go in once, move from recent to baseline once
 * and leave once, so a look costs three passes over a tick's figures, whatever the windows' length.
 */
export class ControlHistory {
  private readonly recentTicks: number;
  private readonly baselineTicks: number;
  private readonly ring: Float64Array;
  private readonly current = new Float64Array(FIELDS);
  private readonly recent = new Float64Array(FIELDS);
  private readonly baseline = new Float64Array(FIELDS);
  private tick = 0;
  readonly recentWindow: ControlWindow;
  readonly baselineWindow: ControlWindow;

  constructor(tickSeconds: number) {
    this.recentTicks = Math.round(RECENT_SECONDS / tickSeconds);
    this.baselineTicks = Math.round(BASELINE_SECONDS / tickSeconds);
    this.ring = new Float64Array((this.recentTicks + this.baselineTicks + 1) * FIELDS);
    this.recentWindow = windowOf(this.recent);
    this.baselineWindow = windowOf(this.baseline);
  }

  request(failed: boolean): void {
    this.current[REQUESTS]++;
    if (failed) this.current[FAILURES]++;
  }

  answered(latencyBin: number, ttfbBin: number, ttftBin: number): void {
    this.current[LATENCY + latencyBin]++;
    this.current[TTFB + ttfbBin]++;
    if (ttftBin >= 0) this.current[TTFT + ttftBin]++;
  }

  /** Closes the tick: its figures join the recent window, and the windows slide by one tick. */
  endTick(): void {
    const slots = this.recentTicks + this.baselineTicks + 1;
    const slot = (this.tick % slots) * FIELDS;
    this.ring.set(this.current, slot);
    for (let i = 0; i < FIELDS; i++) this.recent[i] += this.current[i];
    const leavingRecent = this.tick - this.recentTicks;
    if (leavingRecent >= 0) {
      const from = (leavingRecent % slots) * FIELDS;
      for (let i = 0; i < FIELDS; i++) {
        const value = this.ring[from + i];
        this.recent[i] -= value;
        this.baseline[i] += value;
      }
    }
    const leavingBaseline = leavingRecent - this.baselineTicks;
    if (leavingBaseline >= 0) {
      const from = (leavingBaseline % slots) * FIELDS;
      for (let i = 0; i < FIELDS; i++) this.baseline[i] -= this.ring[from + i];
    }
    this.current.fill(0);
    this.tick++;
    this.recentWindow.requests = this.recent[REQUESTS];
    this.recentWindow.failures = this.recent[FAILURES];
    this.baselineWindow.requests = this.baseline[REQUESTS];
    this.baselineWindow.failures = this.baseline[FAILURES];
  }
}

function windowOf(fields: Float64Array): ControlWindow {
  return {
    requests: 0,
    failures: 0,
    histograms: {
      latency: fields.subarray(LATENCY, LATENCY + HISTOGRAM_BINS),
      ttft: fields.subarray(TTFT, TTFT + HISTOGRAM_BINS),
      ttfb: fields.subarray(TTFB, TTFB + HISTOGRAM_BINS),
    },
  };
}

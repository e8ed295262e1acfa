/** One chat completion call as the simulator decided it. Keys appear by label only, never by value. */
export interface SimulatorCall {
  /** ISO timestamp of the decision. */
  at: string;
  /** null when the request never got as far as naming a known model. */
  model: string | null;
  /** null when the request was not authenticated. */
  keyLabel: string | null;
  stream: boolean;
  status: number;
}

export interface SimulatorStatsSnapshot {
  total: number;
  byModel: Record<string, number>;
  byKey: Record<string, number>;
  byStatus: Record<string, number>;
  unauthorized: number;
  /** Clients that went away before their answer was complete. */
  aborted: number;
  /** Streams cut on purpose by `streamFailureRate`. */
  streamFailures: number;
  /** Streams sent a cut-off chunk on purpose by `malformedFirstEventRate` or `malformedEventRate`. */
  malformedEvents: number;
  /** Streams whose first event was a queued fault's error (`asStreamEvent`). */
  errorEvents: number;
  /** The last RECENT_LIMIT calls, oldest first. */
  recent: SimulatorCall[];
}

export const RECENT_LIMIT = 200;

type RecordedCall = Omit<SimulatorCall, 'at'> & { atMs: number };

/** Counters of chat completion calls (the endpoint tests assert on); the model list is not counted. */
export class SimulatorStats {
  private total = 0;
  private byModel = new Map<string, number>();
  private byKey = new Map<string, number>();
  private byStatus = new Map<number, number>();
  private unauthorized = 0;
  private aborted = 0;
  private streamFailures = 0;
  private malformedEvents = 0;
  private errorEvents = 0;
  private recent: RecordedCall[] = [];

  record(call: Omit<SimulatorCall, 'at'>): void {
    this.total++;
    if (call.model !== null) increment(this.byModel, call.model);
    if (call.keyLabel !== null) increment(this.byKey, call.keyLabel);
    increment(this.byStatus, call.status);
    if (call.status === 401) this.unauthorized++;
    // Formatting the timestamp is left to snapshot(): the hot path only stores a number.
    this.recent.push({ ...call, atMs: Date.now() });
    if (this.recent.length > RECENT_LIMIT) this.recent.shift();
  }

  countAborted(): void {
    this.aborted++;
  }

  countStreamFailure(): void {
    this.streamFailures++;
  }

  countMalformedEvent(): void {
    this.malformedEvents++;
  }

  countErrorEvent(): void {
    this.errorEvents++;
  }

  snapshot(): SimulatorStatsSnapshot {
    return {
      total: this.total,
      byModel: Object.fromEntries(this.byModel),
      byKey: Object.fromEntries(this.byKey),
      byStatus: Object.fromEntries([...this.byStatus].map(([status, n]) => [String(status), n])),
      unauthorized: this.unauthorized,
      aborted: this.aborted,
      streamFailures: this.streamFailures,
      malformedEvents: this.malformedEvents,
      errorEvents: this.errorEvents,
      recent: this.recent.map(({ atMs, ...call }) => ({ at: new Date(atMs).toISOString(), ...call })),
    };
  }

  reset(): void {
    this.total = 0;
    this.byModel.clear();
    this.byKey.clear();
    this.byStatus.clear();
    this.unauthorized = 0;
    this.aborted = 0;
    this.streamFailures = 0;
    this.malformedEvents = 0;
    this.errorEvents = 0;
    this.recent = [];
  }
}

function increment<K>(counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

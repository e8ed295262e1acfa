/** A chat completion request body as the simulator received it, for tests that check what a gateway sent. */
export interface RecordedRequest {
  /** ISO timestamp. */
  at: string;
  model: string;
  /** The key's label, never the key. */
  keyLabel: string;
  /** The parsed JSON body, exactly as sent. */
  body: unknown;
}

/** Upper bound on `limit`: bodies can be megabytes each. */
export const MAX_RECORDED_REQUESTS = 1_000;

/**
 * The last `limit` request bodies, oldest first. Off (limit 0) until asked for, so benchmarks and
 * long demos keep nothing; `PUT /_simulator/recording { "requests": 50 }` turns it on.
 */
export class SimulatorRecording {
  private limit = 0;
  private requests: RecordedRequest[] = [];

  get size(): number {
    return this.limit;
  }

  /** Keeps the last `limit` bodies from now on (0 stops recording and forgets what was kept). */
  setLimit(limit: number): void {
    this.limit = limit;
    this.requests = limit === 0 ? [] : this.requests.slice(-limit);
  }

  record(request: Omit<RecordedRequest, 'at'>): void {
    if (this.limit === 0) return;
    this.requests.push({ at: new Date().toISOString(), ...request });
    if (this.requests.length > this.limit) this.requests.shift();
  }

  list(): RecordedRequest[] {
    return [...this.requests];
  }

  reset(): void {
    this.setLimit(0);
  }
}

/** Reads `{ "requests": n }`; the problem in words otherwise. */
export function readRecordingLimit(body: unknown): number | string {
  const requests = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).requests : undefined;
  if (!Number.isInteger(requests) || (requests as number) < 0 || (requests as number) > MAX_RECORDED_REQUESTS) {
    return `requests must be an integer from 0 to ${MAX_RECORDED_REQUESTS} (how many recent request bodies to keep), e.g. { "requests": 50 }`;
  }
  return requests as number;
}

import { performance } from 'node:perf_hooks';

/**
 * Where one request's time went: the upstream's (every attempt of every candidate, with the waits
 * between retries) and the gateway's own (everything else: the body, validation, routing, the context
 * guard, writing the answer). The same figures go to the client in `Server-Timing` and to the
 * `/metrics` overhead histogram, so what a team sees on one response and what the dashboards show agree.
 */
export class RequestTiming {
  readonly startedAt = performance.now();
  private upstreamMs = 0;
  private upstreamSince = 0;
  /** The gateway's own time up to the response head, fixed when the head is written. */
  private overheadAtHead: number | undefined;

  upstreamStarted(): void {
    this.upstreamSince = performance.now();
  }

  upstreamEnded(): void {
    this.upstreamMs += performance.now() - this.upstreamSince;
  }

  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /**
   * The `Server-Timing` value of a response head written now. A stream's first event goes out with its
   * head, so its time to first token is the time so far.
   */
  serverTiming(stream: boolean): string {
    const elapsed = this.elapsedMs();
    this.overheadAtHead = elapsed - this.upstreamMs;
    const timing = `gateway;dur=${ms(this.overheadAtHead)}, upstream;dur=${ms(this.upstreamMs)}`;
    return stream ? `${timing}, ttft;dur=${ms(elapsed)}` : timing;
  }

  /** The gateway's own time: up to the response head, or to now when no head was written (the client left). */
  overheadMs(): number {
    return this.overheadAtHead ?? this.elapsedMs() - this.upstreamMs;
  }
}

function ms(value: number): string {
  return value.toFixed(3);
}

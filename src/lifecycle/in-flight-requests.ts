import type { IncomingMessage, Server, ServerResponse } from 'node:http';

const SLOT = Symbol('switchyard.inFlightSlot');
const TRACKER = Symbol('switchyard.inFlightTracker');
type TrackedResponse = ServerResponse & { [SLOT]: number; [TRACKER]: InFlightRequests };

/**
 * Counts the HTTP server's requests that have not ended yet — on every path, the completions fast
 * path included, since it listens on the server itself — so that shutdown can wait for exactly
 * those, instead of for `server.close()`, which also waits for idle keep-alive connections.
 */
export class InFlightRequests {
  /**
   * The responses not yet closed, each knowing its slot (swap-remove: O(1), no hashing). Not a Set:
   * a long-lived Set that every request enters and leaves made V8 promote about 7 KB per request to
   * the old generation under load (scavenges kept 70% of what had survived the previous one, 20%
   * without it), tripling major GCs and costing a fifth of the gateway's CPU (docs/benchmarks.md).
   */
  private readonly open: TrackedResponse[] = [];
  private closing = false;
  private drained?: () => void;

  constructor(private readonly server: Server) {
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => this.track(res));
  }

  get count(): number {
    return this.open.length;
  }

  /**
   * Stops accepting connections and waits until every request in flight has been answered, or
   * `timeoutMs` has passed; resolves to the number still running then. Idle keep-alive connections
   * are closed at once; a request that arrives meanwhile on an open connection is still served, and
   * answers carry `Connection: close` so clients do not send more.
   */
  async stopAccepting(timeoutMs: number): Promise<number> {
    this.closing = true;
    if (this.server.listening) this.server.close();
    for (const res of this.open) closeAfter(res);
    this.server.closeIdleConnections();
    if (this.open.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    // Not closeAllConnections(): it would destroy sockets still flushing the last answers.
    this.server.closeIdleConnections();
    return this.open.length;
  }

  /**
   * Cuts the requests still running (their connections closed): past the HTTP budget nothing else
   * would end them, and the server's close, which the app's close awaits, would wait for them.
   */
  cutUnfinished(): number {
    const running = [...this.open];
    for (const res of running) res.destroy();
    return running.length;
  }

  private track(res: ServerResponse): void {
    const tracked = res as TrackedResponse;
    tracked[SLOT] = this.open.length;
    tracked[TRACKER] = this;
    this.open.push(tracked);
    if (this.closing) closeAfter(res);
    // 'close' comes after the answer was sent, and also when the client went away first.
    res.once('close', untrackOnClose);
  }

  /** Called by the response's 'close' listener (one shared function, not a closure per request). */
  untrack(res: TrackedResponse): void {
    const last = this.open.pop() as TrackedResponse;
    if (last !== res) {
      this.open[res[SLOT]] = last;
      last[SLOT] = res[SLOT];
    }
    // On the next turn: by then the connection that carried the answer counts as idle.
    if (this.closing && this.open.length === 0) setImmediate(() => this.drained?.());
  }
}

function untrackOnClose(this: TrackedResponse): void {
  this[TRACKER].untrack(this);
}

function closeAfter(res: ServerResponse): void {
  if (!res.headersSent) res.shouldKeepAlive = false;
}

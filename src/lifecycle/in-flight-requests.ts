import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Counts the HTTP server's requests that have not ended yet — on every path, the completions fast
 * path included, since it listens on the server itself — so that shutdown can wait for exactly
 * those, instead of for `server.close()`, which also waits for idle keep-alive connections.
 */
export class InFlightRequests {
  private readonly open = new Set<ServerResponse>();
  private closing = false;
  private drained?: () => void;

  constructor(private readonly server: Server) {
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => this.track(res));
  }

  get count(): number {
    return this.open.size;
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
    if (this.open.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    // Not closeAllConnections(): it would destroy sockets still flushing the last answers.
    this.server.closeIdleConnections();
    return this.open.size;
  }

  private track(res: ServerResponse): void {
    this.open.add(res);
    if (this.closing) closeAfter(res);
    // 'close' comes after the answer was sent, and also when the client went away first.
    res.once('close', () => {
      this.open.delete(res);
      // On the next turn: by then the connection that carried the answer counts as idle.
      if (this.closing && this.open.size === 0) setImmediate(() => this.drained?.());
    });
  }
}

function closeAfter(res: ServerResponse): void {
  if (!res.headersSent) res.shouldKeepAlive = false;
}

import { Client } from 'pg';

/** pg's error when a statement's answer did not come within `query_timeout`. */
const UNANSWERED = 'Query read timeout';

/**
 * The pool's client: a connection whose statement Postgres left unanswered past `query_timeout` is
 * closed. pg only rejects the statement; the connection stays busy with it and goes back to the
 * pool, where every later statement waits behind one that never ends. After a network partition or
 * a failover (no FIN reaches us), the pool would lend it again and again, each statement on it
 * failing after the bound, until it had been idle long enough to be closed. Closed, it leaves the
 * pool at once, and its transaction is ended by Postgres itself
 * (`idle_in_transaction_session_timeout`), releasing the row locks other replicas wait on.
 */
export class BoundedClient extends Client {
  // pg's overloads: a promise, or a callback as the last argument (pg-pool's own queries).
  override query(...args: unknown[]): never {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = (error: Error | null, result: unknown) => {
        this.closeIfUnanswered(error);
        (callback as (error: Error | null, result: unknown) => void)(error, result);
      };
    }
    const result = (Client.prototype.query as (...args: unknown[]) => unknown).apply(this, args);
    if (!(result instanceof Promise)) return result as never;
    return result.catch((error: Error) => {
      this.closeIfUnanswered(error);
      throw error;
    }) as never;
  }

  private closeIfUnanswered(error: Error | null): void {
    if (error?.message !== UNANSWERED) return;
    // Marked as ending before it is given back, so the pool drops it rather than lending it again;
    // with the statement still active, pg closes the socket at once instead of saying goodbye.
    this.end().catch(() => undefined);
  }
}

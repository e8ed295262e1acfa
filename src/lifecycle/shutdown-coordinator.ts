import { type INestApplication, Logger } from '@nestjs/common';
import type { Server } from 'node:http';
import { DatabaseServer } from '../database/database-server';
import { DATABASE_STOP_MARGIN_MS, ShutdownDeadline } from '../database/shutdown-deadline';
import { InFlightRequests } from './in-flight-requests';

/**
 * The one place that orders shutdown (SIGINT, SIGTERM, a test's close). Each phase starts when the
 * previous one has ended:
 *
 * 1. HTTP: the server stops accepting connections; requests in flight are answered, for up to half
 *    of SHUTDOWN_TIMEOUT_MS. Those still running then may finish while phase 2 runs (their rows are
 *    counted as dropped); those still running at the writers' deadline (a long stream) are cut, so
 *    the server's close does not hold the exit past SHUTDOWN_TIMEOUT_MS.
 * 2. Nest's lifecycle (`app.close()`): schedulers, tickers and listeners stop (onModuleDestroy);
 *    the writers drain what the requests left — metric rows, the alert round under way, usage
 *    counts (beforeApplicationShutdown); connection pools close (onApplicationShutdown).
 * 3. The embedded Postgres, when the app started one, stops: last, once nothing can write to it.
 *
 * No provider closes the HTTP server or stops the database from its own hook: ordering them there
 * would depend on Nest's module order.
 */
export class ShutdownCoordinator {
  private readonly logger = new Logger('Shutdown');
  private readonly requests: InFlightRequests;
  private running?: Promise<void>;

  constructor(
    private readonly app: INestApplication,
    private readonly timeoutMs: number,
  ) {
    this.requests = new InFlightRequests(app.getHttpServer() as Server);
  }

  /** Runs the phases once; later calls (a second signal, a close after a signal) share that run. */
  shutDown(reason: string): Promise<void> {
    this.running ??= this.run(reason);
    return this.running;
  }

  private async run(reason: string): Promise<void> {
    const startedAt = Date.now();
    // The writers' final flushes, one module after another, end by then together (ShutdownDeadline).
    this.app.get(ShutdownDeadline, { strict: false }).set(startedAt + this.timeoutMs - DATABASE_STOP_MARGIN_MS);
    const inFlight = this.requests.count;
    this.logger.log(`${reason}: shutting down; ${inFlight} requests in flight`);
    const httpBudgetMs = this.timeoutMs / 2;
    const unfinished = await this.requests.stopAccepting(httpBudgetMs);
    let cutTimer: NodeJS.Timeout | undefined;
    if (unfinished > 0) {
      // They may still finish while the writers drain (their rows then count as dropped); whatever
      // runs at the writers' deadline is cut, or the server's close would hold the exit past it.
      const cutInMs = Math.max(0, startedAt + this.timeoutMs - DATABASE_STOP_MARGIN_MS - Date.now());
      this.logger.warn(
        `${unfinished} requests still running after ${httpBudgetMs} ms (half of SHUTDOWN_TIMEOUT_MS); ` +
          `shutting down beside them: their metric rows will be counted as dropped, and what still runs in ${cutInMs} ms is cut`,
      );
      cutTimer = setTimeout(() => {
        const cut = this.requests.cutUnfinished();
        if (cut > 0) this.logger.warn(`cut ${cut} requests still running at the shutdown deadline`);
      }, cutInMs);
    }
    const database = this.app.get(DatabaseServer, { strict: false });
    try {
      await this.app.close();
    } finally {
      clearTimeout(cutTimer);
    }
    await database.stop();
    this.logger.log(`stopped in ${Date.now() - startedAt} ms`);
  }
}

import { Global, Injectable, Logger, Module } from '@nestjs/common';

/** Kept from SHUTDOWN_TIMEOUT_MS for what comes after the writers: closing the pool, stopping the database. */
export const DATABASE_STOP_MARGIN_MS = 2_000;

/**
 * The time by which every writer's final flush must be over, shared by all of them (and by
 * BudgetLeases, which reports the spend it could not settle when it comes). The shutdown
 * coordinator sets it when a shutdown starts (then + SHUTDOWN_TIMEOUT_MS, less the margin for
 * stopping the database); each BatchWriter's `drain` ends at its own budget or at this, whichever
 * comes first. Nest runs the writers' drains one module after another: without a shared end, three
 * writers with rows queued while the database is down would each spend their whole budget, together
 * longer than SHUTDOWN_TIMEOUT_MS, and the process would be stopped before the last of them had
 * counted its rows as dropped. For the same reason a writer also counts them when the deadline comes
 * before its drain has run at all.
 */
@Injectable()
export class ShutdownDeadline {
  private readonly logger = new Logger(ShutdownDeadline.name);
  private atMs?: number;
  private timer?: NodeJS.Timeout;
  private readonly onReached: Array<() => void> = [];

  /** Epoch ms; a later call can only bring it forward. */
  set(atMs: number): void {
    this.atMs = Math.min(this.atMs ?? Infinity, atMs);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reached(), Math.max(this.atMs - Date.now(), 0));
    this.timer.unref();
  }

  /**
   * Runs `callback` when the deadline comes, whatever the shutdown is doing then: the writers count
   * their rows even when a hook before their final flush waits on a database that hangs.
   */
  whenReached(callback: () => void): void {
    this.onReached.push(callback);
  }

  /** Epoch ms, or undefined while no shutdown has started. */
  get(): number | undefined {
    return this.atMs;
  }

  private reached(): void {
    // Each writer counts and reports what it holds here: one that fails must not silence the others.
    for (const callback of this.onReached.splice(0)) {
      try {
        callback();
      } catch (error) {
        this.logger.error({ err: error }, 'a writer failed to report what it held at the shutdown deadline');
      }
    }
  }
}

/** Global: the writers of several modules read the one deadline the coordinator sets. */
@Global()
@Module({ providers: [ShutdownDeadline], exports: [ShutdownDeadline] })
export class ShutdownDeadlineModule {}

import { Injectable, Logger } from '@nestjs/common';

/** A job run by the clock every period; see Clock.every. */
export interface ScheduledJob {
  /** No more runs; resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Where time comes from wherever it decides something (a canary's stage end, a tick's slot, a
 * guardrail window, a metric row's time), and what runs the jobs that act on it. Production uses the
 * system clock and real timers; tests provide a ManualClock they move by hand, which runs the jobs
 * registered through it as they fall due, so no test waits for real time to pass.
 */
@Injectable()
export class Clock {
  private readonly logger = new Logger(Clock.name);

  /** Milliseconds since the epoch. */
  nowMs(): number {
    return Date.now();
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /**
   * Runs `job` once in every period of `periodMs`, just after each period starts (periods counted
   * from the epoch, so every replica's job runs in the same periods). A run is never overlapped: a
   * period whose start finds the previous run still going is skipped. A run that throws is logged,
   * and the next period runs as usual.
   */
  every(name: string, periodMs: number, job: () => Promise<void>): ScheduledJob {
    let running: Promise<void> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const scheduleNext = () => {
      if (!stopped) timer = setTimeout(fire, periodMs - (this.nowMs() % periodMs));
    };
    const fire = () => {
      running ??= job()
        .catch((error: unknown) => this.logger.error(`${name} failed: ${(error as Error).message}`))
        .finally(() => (running = undefined));
      scheduleNext();
    };
    scheduleNext();
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
      },
    };
  }
}

import { Injectable } from '@nestjs/common';

/**
 * Where time comes from wherever it decides something (a canary's stage end, a tick's slot, a
 * budget period). Production uses the system clock; tests provide a clock they move by hand, so no
 * test waits for real time to pass.
 */
@Injectable()
export class Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number {
    return Date.now();
  }

  now(): Date {
    return new Date(this.nowMs());
  }
}

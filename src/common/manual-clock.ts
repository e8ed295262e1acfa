import { Clock, type ScheduledJob } from './clock';

interface ManualJob {
  name: string;
  periodMs: number;
  /** The period (counted from the epoch, as Clock.every counts them) the job last ran in. */
  lastPeriod: number;
  run: () => Promise<void>;
  stopped: boolean;
  running?: Promise<void>;
}

/**
 * A clock that stands still until told to move, for tests that start the real app. `advance(ms)`
 * moves time and runs, to completion, every job registered through `every` whose period started
 * meanwhile — once each, however many periods were crossed, as Clock.every does — so a test can say
 * "one tick later" and then look at what that tick did. `run(name)` fires a job again within its
 * period (a replica whose timer fires at another moment). Never used by the app itself.
 */
export class ManualClock extends Clock {
  private currentMs: number;
  private readonly jobs: ManualJob[] = [];

  constructor(startMs: number = Date.now()) {
    super();
    this.currentMs = startMs;
  }

  override nowMs(): number {
    return this.currentMs;
  }

  override every(name: string, periodMs: number, run: () => Promise<void>): ScheduledJob {
    const job: ManualJob = { name, periodMs, lastPeriod: this.periodOf(periodMs), run, stopped: false };
    this.jobs.push(job);
    return {
      stop: async () => {
        job.stopped = true;
        this.jobs.splice(this.jobs.indexOf(job), 1);
        await job.running;
      },
    };
  }

  /** Moves time forward by `ms` and runs the jobs whose period started, one after the other; errors propagate. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`a clock only moves forward; advance(${ms})`);
    this.currentMs += ms;
    for (const job of [...this.jobs]) {
      const period = this.periodOf(job.periodMs);
      if (job.stopped || period <= job.lastPeriod) continue;
      job.lastPeriod = period;
      await this.runNow(job);
    }
  }

  /** Moves time forward to `atMs` (if it is ahead) and runs the jobs whose period started. */
  advanceTo(atMs: number): Promise<void> {
    return this.advance(Math.max(0, atMs - this.currentMs));
  }

  /** Runs the named job once now, without moving time. */
  async run(name: string): Promise<void> {
    const job = this.jobs.find((candidate) => candidate.name === name);
    if (!job) throw new Error(`no job "${name}" is scheduled (scheduled: ${this.scheduled().join(', ') || 'none'})`);
    await this.runNow(job);
  }

  /** The names of the jobs registered and not stopped. */
  scheduled(): string[] {
    return this.jobs.map((job) => job.name);
  }

  private periodOf(periodMs: number): number {
    return Math.floor(this.currentMs / periodMs);
  }

  private async runNow(job: ManualJob): Promise<void> {
    // A run still in progress (started by another caller) is waited for, never overlapped.
    while (job.running) await job.running;
    job.running = job.run().finally(() => (job.running = undefined));
    await job.running;
  }
}

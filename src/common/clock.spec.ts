import { jest } from '@jest/globals';
import { Clock } from './clock';

describe('Clock.every (the system clock, on jest’s fake timers)', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: Date.parse('2026-11-24T10:00:00.250Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs once in every period, just after it starts, counting periods from the epoch as every replica does', async () => {
    const clock = new Clock();
    const runs: string[] = [];
    const job = clock.every('tick', 1000, async () => {
      runs.push(clock.now().toISOString());
    });
    await jest.advanceTimersByTimeAsync(749);
    expect(runs).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    await jest.advanceTimersByTimeAsync(2000);
    expect(runs).toEqual(['2026-11-24T10:00:01.000Z', '2026-11-24T10:00:02.000Z', '2026-11-24T10:00:03.000Z']);
    await job.stop();
    await jest.advanceTimersByTimeAsync(5000);
    expect(runs).toHaveLength(3);
  });

  it('skips a period whose start finds the last run still going, and stop() waits for that run', async () => {
    const clock = new Clock();
    let started = 0;
    let finished = 0;
    const job = clock.every('slow', 1000, async () => {
      started++;
      await new Promise((resolve) => setTimeout(resolve, 2500));
      finished++;
    });
    await jest.advanceTimersByTimeAsync(3000);
    expect([started, finished]).toEqual([1, 0]);
    await jest.advanceTimersByTimeAsync(800);
    expect([started, finished]).toEqual([2, 1]);
    const stopped = job.stop();
    await jest.advanceTimersByTimeAsync(2500);
    await stopped;
    expect([started, finished]).toEqual([2, 2]);
  });

  it('keeps its periods after a run that throws', async () => {
    const clock = new Clock();
    let runs = 0;
    const job = clock.every('broken', 1000, async () => {
      runs++;
      throw new Error('boom');
    });
    await jest.advanceTimersByTimeAsync(2750);
    expect(runs).toBe(3);
    await job.stop();
  });
});

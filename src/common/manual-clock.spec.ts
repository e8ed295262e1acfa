import { ManualClock } from './manual-clock';

describe('ManualClock', () => {
  it('stands still until advanced', async () => {
    const clock = new ManualClock(1_000);
    expect(clock.nowMs()).toBe(1_000);
    await clock.advance(250);
    expect(clock.now()).toEqual(new Date(1_250));
    await clock.advanceTo(1_100); // never backwards
    expect(clock.nowMs()).toBe(1_250);
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
  });

  it('runs a job once in each period it enters, once however many it skips, and finishes it before answering', async () => {
    const clock = new ManualClock(50);
    const runs: number[] = [];
    clock.every('tick', 100, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      runs.push(clock.nowMs());
    });
    await clock.advance(49);
    expect(runs).toEqual([]);
    await clock.advance(1);
    expect(runs).toEqual([100]);
    await clock.advance(99);
    expect(runs).toEqual([100]);
    await clock.advance(1_000);
    expect(runs).toEqual([100, 1_199]);
    await clock.advance(1);
    expect(runs).toEqual([100, 1_199, 1_200]);
  });

  it('runs a named job on demand without moving time, and never overlaps two runs of it', async () => {
    const clock = new ManualClock(0);
    let active = 0;
    let most = 0;
    clock.every('tick', 100, async () => {
      most = Math.max(most, ++active);
      await new Promise((resolve) => setTimeout(resolve, 5));
      active--;
    });
    await Promise.all([clock.run('tick'), clock.run('tick'), clock.advance(100)]);
    expect(most).toBe(1);
    expect(clock.nowMs()).toBe(100);
    await expect(clock.run('nope')).rejects.toThrow('no job "nope" is scheduled (scheduled: tick)');
  });

  it('forgets a stopped job, after letting its run finish', async () => {
    const clock = new ManualClock(0);
    let finished = false;
    const job = clock.every('tick', 100, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      finished = true;
    });
    const running = clock.run('tick');
    await job.stop();
    expect(finished).toBe(true);
    await running;
    expect(clock.scheduled()).toEqual([]);
  });

  it('passes a failing job on to the test that moved the clock', async () => {
    const clock = new ManualClock(0);
    clock.every('broken', 10, async () => {
      throw new Error('boom');
    });
    await expect(clock.advance(10)).rejects.toThrow('boom');
  });
});

import { SlidingWindowCounter } from './sliding-window';

describe('SlidingWindowCounter', () => {
  let t: number;
  const now = () => t;
  beforeEach(() => {
    t = 0;
  });

  it('keeps totals per series', () => {
    const window = new SlidingWindowCounter(1000, 2, now);
    window.add(0);
    window.add(0, 4);
    window.add(1);
    expect([window.total(0), window.total(1)]).toEqual([5, 1]);
  });

  it('forgets an event between windowMs - bucketMs and windowMs after it happened', () => {
    const window = new SlidingWindowCounter(1000, 1, now); // buckets of 100 ms
    t = 150; // in the bucket [100, 200)
    window.add(0);
    t = 1099;
    expect(window.total(0)).toBe(1);
    t = 1100; // the bucket has left: 950 ms after the event
    expect(window.total(0)).toBe(0);
  });

  it('expires bucket by bucket', () => {
    const window = new SlidingWindowCounter(1000, 1, now);
    for (let i = 0; i < 10; i++) {
      t = i * 100;
      window.add(0, i + 1); // 1 + 2 + … + 10 = 55
    }
    expect(window.total(0)).toBe(55);
    t = 1000;
    expect(window.total(0)).toBe(54);
    t = 1500; // buckets 0–5 (1 + … + 6 = 21) have left
    expect(window.total(0)).toBe(55 - 21);
    t = 1899; // only the last event (t = 900) is left
    expect(window.total(0)).toBe(10);
    t = 1900;
    expect(window.total(0)).toBe(0);
  });

  it('works with a window that does not divide evenly and a negative clock', () => {
    const window = new SlidingWindowCounter(1005, 1, now);
    t = -50;
    window.add(0);
    t = 900;
    expect(window.total(0)).toBe(1);
    t = 1000;
    expect(window.total(0)).toBe(0);
  });

  it('resets', () => {
    const window = new SlidingWindowCounter(1000, 1, now);
    window.add(0, 3);
    window.reset();
    expect(window.total(0)).toBe(0);
    window.add(0);
    expect(window.total(0)).toBe(1);
  });
});

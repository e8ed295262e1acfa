import { lonePoints, timeRange } from './scales';

describe("a chart's time axis", () => {
  it('spans the data with a margin at each end, so the first and last points show whole', () => {
    expect(timeRange([1000, 1100, 1200])).toEqual([994, 1206]);
  });

  it('spans two minutes around a single point', () => {
    expect(timeRange([1000])).toEqual([940, 1060]);
  });
});

describe("a line chart's markers", () => {
  it('marks a single value, which a line alone would not draw', () => {
    expect(lonePoints([5])).toEqual([0]);
  });

  it('marks the values between gaps or at an end beside a gap, and no value a line reaches', () => {
    expect(lonePoints([1, null, 2, 3, null, 4, null, null, 6])).toEqual([0, 5, 8]);
    expect(lonePoints([1, 2, 3])).toBeNull();
    expect(lonePoints([null, null])).toBeNull();
    expect(lonePoints([])).toBeNull();
  });
});

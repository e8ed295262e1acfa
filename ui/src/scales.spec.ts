import { timeRange } from './scales';

describe("a chart's time axis", () => {
  it('spans the data with a margin at each end, so the first and last points show whole', () => {
    expect(timeRange([1000, 1100, 1200])).toEqual([994, 1206]);
  });

  it('spans two minutes around a single point', () => {
    expect(timeRange([1000])).toEqual([940, 1060]);
  });
});

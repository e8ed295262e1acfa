import { dollars, grouped } from '../../libs/stats/src/grouped';
import {
  axisDollars,
  axisTimes,
  band,
  clockTime,
  count,
  duration,
  effect,
  metricValue,
  ms,
  pct,
  time,
  usd,
} from './format';

describe('numbers on the control room', () => {
  it("groups digits as the API's sentences do: 1,986 in a table and in a verdict alike", () => {
    expect(count(1986)).toBe('1,986');
    expect(count(10_811)).toBe(grouped(10_811));
    expect(ms(12_345.4)).toBe('12,345 ms');
    expect(metricValue('latencyP99', 1986)).toBe('1,986 ms');
  });

  it('writes each metric in its own unit, as the verdict sentences do', () => {
    expect(metricValue('errorRate', 0.01234)).toBe('1.23%');
    expect(metricValue('latencyP95', 812.6)).toBe('813 ms');
    expect(metricValue('costPerRequest', 0.0001234)).toBe('$0.000123');
    expect(metricValue('errorRate', null)).toBe('—');
  });

  it("writes an outcome metric in its kind's unit: a rate as %, a mean as a number", () => {
    expect(metricValue('empty_answer', 0.3, 'rate')).toBe('30.00%');
    expect(effect('checkout_converted', 'difference', -0.012, 'rate')).toBe('-1.20 pp');
    expect(band('empty_answer', 'difference', [0.2, 0.31], 'rate')).toBe('+20.00 pp … +31.00 pp');
    expect(metricValue('order_value', 41.5, 'mean')).toBe('41.500');
    expect(effect('order_value', 'difference', 2.25, 'mean')).toBe('+2.250');
  });

  it('writes effects as percentage points, signed milliseconds or ratios', () => {
    expect(effect('errorRate', 'difference', 0.0231)).toBe('+2.31 pp');
    expect(effect('errorRate', 'difference', -0.004)).toBe('-0.40 pp');
    expect(effect('latencyP50', 'ratio', 1.2)).toBe('1.200×');
    expect(effect('latencyP99', 'difference', 35)).toBe('+35 ms');
  });

  it('writes a confidence band without a bound on a side by the side it has, as the verdict sentences do', () => {
    expect(band('latencyP95', 'ratio', [0.91, null])).toBe('≥ 0.910×');
    // A ratio's unbounded lower side comes as 0 (exp(-∞)): not "0.000×", a bound it is not.
    expect(band('latencyP95', 'ratio', [0, 1.4])).toBe('≤ 1.400×');
    expect(band('latencyP95', 'ratio', [null, 1.4])).toBe('≤ 1.400×');
    expect(band('errorRate', 'difference', [null, 0.02])).toBe('≤ +2.00 pp');
    expect(band('errorRate', 'difference', [-0.01, null])).toBe('≥ -1.00 pp');
    expect(band('latencyP95', 'ratio', [0, null])).toBe('no bounds yet');
    expect(band('errorRate', 'difference', [-0.01, 0.02])).toBe('-1.00 pp … +2.00 pp');
  });

  it('writes shares and durations', () => {
    expect(pct(0.515)).toBe('51.5%');
    expect(duration(45)).toBe('45 s');
    expect(duration(600)).toBe('10.0 min');
    expect(duration(7200)).toBe('2.0 h');
  });

  it('says times in UTC, and says so, whatever the zone the browser is in', () => {
    expect(time('2026-12-07T12:17:30.000Z')).toBe('2026-12-07 12:17:30 UTC');
    expect(clockTime(new Date('2026-12-07T12:17:30.000Z'))).toBe('12:17:30 UTC');
    const noon = Date.parse('2026-12-07T12:00:00.000Z') / 1000;
    expect(axisTimes([noon, noon + 30, noon + 60])).toEqual(['12:00:00 UTC\n2026-12-07', '12:00:30', '12:01:00']);
    expect(axisTimes([noon, noon + 6 * 3600, noon + 12 * 3600])).toEqual([
      '12:00 UTC\n2026-12-07',
      '18:00',
      '00:00\n2026-12-08',
    ]);
  });

  it('puts the minus of a negative amount before the dollar sign', () => {
    expect(usd(-0.1925)).toBe('-$0.193');
    expect(usd(0.1925)).toBe('$0.193');
    expect(usd(-2.5)).toBe('-$2.50');
  });

  it("writes amounts as the API's sentences do: grouped to the cent, a request's cost to three digits", () => {
    expect(usd(12_345.6789)).toBe('$12,345.68');
    expect(usd(12_345.6789)).toBe(dollars(12_345.6789));
    expect(usd(0.000421)).toBe('$0.000421');
    expect(metricValue('costPerRequest', 2.5)).toBe('$2.50');
    expect(effect('costPerRequest', 'difference', -0.0000123)).toBe('-$0.0000123');
    expect(usd(null)).toBe('—');
  });

  it("labels a chart's dollar ticks with the decimals their step needs, so no two read the same", () => {
    // A quiet minute's cost: every tick read $0.0000.
    expect(axisDollars([0, 0.00002, 0.00004, 0.00006])).toEqual(['$0.00000', '$0.00002', '$0.00004', '$0.00006']);
    expect(axisDollars([0, 0.00025, 0.0005, 0.00075])).toEqual(['$0.00000', '$0.00025', '$0.00050', '$0.00075']);
    expect(axisDollars([1.0001, 1.0002, 1.0003])).toEqual(['$1.0001', '$1.0002', '$1.0003']);
    // Cents at least, and large amounts grouped.
    expect(axisDollars([0, 500, 1000, 1500])).toEqual(['$0.00', '$500.00', '$1,000.00', '$1,500.00']);
    expect(axisDollars([-0.5, 0, 0.5])).toEqual(['-$0.50', '$0.00', '$0.50']);
    expect(axisDollars([0.1 + 0.2, 0.4])).toEqual(['$0.30', '$0.40']);
    expect(axisDollars([0.00003])).toEqual(['$0.00003']);
    expect(axisDollars([])).toEqual([]);
  });
});

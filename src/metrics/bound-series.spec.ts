import { Counter, Histogram, Registry } from 'prom-client';
import { BoundCounter, BoundHistogram } from './bound-series';

/** The same observations through prom-client's own metrics and through bound handles: the same exposition. */
describe('bound Prometheus series', () => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const observations: Array<[string, string, number]> = [
    ['chat', 'ok', 0.0004],
    ['chat', 'ok', 0.01],
    ['chat', 'timeout', 30],
    ['fraud', 'ok', 0.05],
  ];

  it('exposes what prom-client would for the same counts and observations', async () => {
    const reference = new Registry();
    const counter = new Counter({
      name: 'c_total',
      help: 'c',
      labelNames: ['policy', 'outcome'],
      registers: [reference],
    });
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['policy', 'outcome'],
      buckets,
      registers: [reference],
    });
    const bound = new Registry();
    const boundCounter = new BoundCounter(bound, { name: 'c_total', help: 'c', labelNames: ['policy', 'outcome'] });
    const boundHistogram = new BoundHistogram(bound, {
      name: 'h_seconds',
      help: 'h',
      labelNames: ['policy', 'outcome'],
      buckets,
    });
    for (const [policy, outcome, seconds] of observations) {
      counter.inc({ policy, outcome });
      histogram.observe({ policy, outcome }, seconds);
      boundCounter.bind(policy, outcome).value++;
      boundHistogram.bind(policy, outcome).observe(seconds);
    }
    expect(await bound.metrics()).toBe(await reference.metrics());
  });

  it('shows no series for a label set bound but never used', async () => {
    const registry = new Registry();
    const counter = new BoundCounter(registry, { name: 'c_total', help: 'c', labelNames: ['policy'] });
    const histogram = new BoundHistogram(registry, { name: 'h_seconds', help: 'h', labelNames: ['policy'], buckets });
    counter.bind('chat');
    histogram.bind('chat');
    expect(await registry.metrics()).not.toContain('chat');
  });
});

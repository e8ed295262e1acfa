import { Random } from './random';
import type { Planted, TrafficModel } from './scenarios';

/** A provider incident on both arms: from/to in seconds of the run, added error probability and log-latency. */
export interface Incident {
  from: number;
  to: number;
  errorRate: number;
  logLatency: number;
}

/** Provider incidents over the whole run (both arms): error bursts, slowdowns and a planted outage. */
export function drawIncidents(random: Random, model: TrafficModel, planted: Planted, totalSeconds: number): Incident[] {
  const incidents: Incident[] = [];
  const poissonTimes = (perHour: number, each: (at: number) => void) => {
    if (perHour <= 0) return;
    for (let at = random.exponential(3600 / perHour); at < totalSeconds; at += random.exponential(3600 / perHour))
      each(at);
  };
  poissonTimes(model.burstsPerHour, (at) =>
    incidents.push({
      from: at,
      to: at + random.between(60, 240),
      errorRate: random.between(0.05, 0.2),
      logLatency: 0,
    }),
  );
  poissonTimes(model.slowdownsPerHour, (at) =>
    incidents.push({
      from: at,
      to: at + random.between(180, 600),
      errorRate: 0,
      logLatency: Math.log(random.between(1.3, 2)),
    }),
  );
  const outage = planted.outage;
  if (outage) {
    // Somewhere in the canary's first five hours (after the hour of history before it).
    const from = 3600 + random.between(1800, 5 * 3600);
    incidents.push({
      from,
      to: from + outage.minutes * 60,
      errorRate: outage.errorRate,
      logLatency: Math.log(outage.latencyFactor),
    });
  }
  return incidents;
}

/**
 * Where the control's log latency has its p97 (or p90 for a shorter tail) and its p99, found by
 * drawing from the model, so that stretching the treatment's tail between them by Math.log(factor)
 * moves its p99 by that factor and leaves its median alone.
 */
export function tailStretch(model: TrafficModel, factor: number): { from: number; to: number; log: number } {
  const random = new Random(0x5eed);
  const draws = new Float64Array(200_000);
  const lnMedian = Math.log(model.medianLatencyMs);
  for (let i = 0; i < draws.length; i++) {
    let x = lnMedian + model.latencySigma * random.normal() + model.userLatencySigma * random.normal();
    if (random.uniform() < model.slowShare) x += Math.log(random.between(2, 5));
    draws[i] = x;
  }
  draws.sort();
  const at = (q: number) => draws[Math.floor(q * (draws.length - 1))];
  return { from: at(factor >= 1 ? 0.97 : 0.9), to: at(0.99), log: Math.log(factor) };
}

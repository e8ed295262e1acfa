import * as stats from '@switchyard/stats';
import type { ArmAccumulator } from './arm-accumulator';
import type { ControlHistory } from './control-history';
import { drawIncidents, tailStretch, type Incident } from './incidents';
import { Random } from './random';
import type { Planted, TrafficModel } from './scenarios';

// Math's functions as module constants: inside jest's vm context every global lookup is slow,
// and these run a few hundred million times per table.
const { log, min, floor, max, ceil, round } = Math;

// Copied once: in the compiled output every read of an imported binding is a property lookup, and
// these are read for every simulated request.
const BINS_PER_LN = stats.BINS_PER_DOUBLING / Math.LN2;
const LAST_BIN = stats.HISTOGRAM_BINS - 1;
const BUCKET_MASK = stats.VARIANCE_BUCKETS - 1;
const LN_TTFB_LOW = log(0.2);
const LN_TTFB_SPAN = log(0.5 / 0.2);
const MAX_SESSION_SECONDS = 3 * 3600;

/** Where requests go on this tick: the weight in force, the stage's arms, the control's history. */
export interface TickTarget {
  /** The treatment's share (0..1) of users in force. */
  weight: number;
  /** Changes when a stage starts: a user is counted once per stage. */
  stageId: number;
  treatment: ArmAccumulator | null;
  control: ArmAccumulator | null;
  history: ControlHistory;
}

/**
 * Simulated requests of the flag, user by user: sessions arrive as a Poisson process, each draws
 * its user's traits (the hash that assigns its arm, its variance bucket, its latency offset, how
 * fragile its prompts are, whether its client is buggy, whether it streams) and spreads its
 * requests over its length. Each tick, the requests due are played through the planted effects and
 * land in the arm the user is assigned to under the weight in force, as rows would in Postgres.
 */
export class SimulatedTraffic {
  private readonly random: Random;
  private readonly tickSeconds: number;
  private readonly ring: number[][];
  private sessions = 0;
  private hash = new Float64Array(1024);
  private bucket = new Uint8Array(1024);
  private latencyOffset = new Float64Array(1024);
  private errorFactor = new Float64Array(1024);
  private invalidRate = new Float64Array(1024);
  private traits = new Uint8Array(1024);
  private lastStage = new Int32Array(1024);
  private readonly sessionRate: number;
  private readonly lightShare: number;
  private readonly fragileNorm: number;
  private readonly lnMedian: number;
  private readonly stretch: { from: number; to: number; log: number } | null;
  private readonly incidents: Incident[];
  /** The incidents in force on this tick: added error probability and log-latency. */
  private readonly tick = { errorRate: 0, logLatency: 0 };
  /** Requests judged (all arms) on each of the last hour's ticks, for planning a stage. */
  private readonly recentRequests: Float64Array;
  private recentTotal = 0;

  constructor(
    private readonly model: TrafficModel,
    private readonly planted: Planted,
    seed: number,
    tickSeconds: number,
    totalSeconds: number,
  ) {
    this.random = new Random(seed);
    this.tickSeconds = tickSeconds;
    this.ring = Array.from({ length: ceil(MAX_SESSION_SECONDS / tickSeconds) + 2 }, () => []);
    const meanRequests = (1 - model.heavyShare) * model.lightMeanRequests + model.heavyShare * model.heavyMeanRequests;
    this.sessionRate = (model.requestsPerSecond * (1 - model.unkeyedShare)) / meanRequests;
    this.lightShare = 1 - model.heavyShare;
    this.fragileNorm = 1 - model.fragileShare + model.fragileShare * model.fragileFactor;
    this.lnMedian = log(model.medianLatencyMs);
    this.stretch = planted.p99Factor ? tailStretch(model, planted.p99Factor) : null;
    this.incidents = drawIncidents(this.random, model, planted, totalSeconds);
    this.reserve(ceil(this.sessionRate * totalSeconds * 1.05) + 1024);
    this.recentRequests = new Float64Array(round(3600 / tickSeconds));
  }

  /** Requests of all arms judged over the last hour of ticks. */
  requestsInLastHour(): number {
    return this.recentTotal;
  }

  /** Plays tick number `tick` (its requests land in `target`). */
  play(tickNumber: number, target: TickTarget): void {
    const start = tickNumber * this.tickSeconds;
    this.setIncident(start);
    const slot = tickNumber % this.ring.length;
    const before = (target.treatment?.requests ?? 0) + (target.control?.requests ?? 0);
    this.arrive(tickNumber);
    const due = this.ring[slot];
    for (let i = 0; i < due.length; i++) this.keyed(due[i], target);
    due.length = 0;
    const unkeyed = this.random.poisson(this.model.requestsPerSecond * this.model.unkeyedShare * this.tickSeconds);
    for (let i = 0; i < unkeyed; i++) this.unkeyed(target);
    const judged = (target.treatment?.requests ?? 0) + (target.control?.requests ?? 0) - before;
    const hourSlot = tickNumber % this.recentRequests.length;
    this.recentTotal += judged - this.recentRequests[hourSlot];
    this.recentRequests[hourSlot] = judged;
  }

  private arrive(tickNumber: number): void {
    const random = this.random;
    const model = this.model;
    const count = random.poisson(this.sessionRate * this.tickSeconds);
    for (let i = 0; i < count; i++) {
      const s = this.newSession();
      const mean = random.uniform() < this.lightShare ? model.lightMeanRequests : model.heavyMeanRequests;
      const requests = random.geometricFromOne(mean);
      const length = min(random.exponential(model.sessionMeanSeconds), MAX_SESSION_SECONDS);
      const offset = random.uniform() * this.tickSeconds;
      for (let r = 0; r < requests; r++) {
        const due = tickNumber + floor((offset + random.uniform() * length) / this.tickSeconds);
        this.ring[due % this.ring.length].push(s);
      }
    }
  }

  private newSession(): number {
    if (this.sessions === this.hash.length) this.grow();
    const s = this.sessions++;
    const random = this.random;
    const model = this.model;
    this.hash[s] = random.uniform();
    this.bucket[s] = random.nextUint32() & BUCKET_MASK;
    this.latencyOffset[s] = model.userLatencySigma * random.normal();
    this.errorFactor[s] = (random.uniform() < model.fragileShare ? model.fragileFactor : 1) / this.fragileNorm;
    this.invalidRate[s] = random.uniform() < model.buggyShare ? model.buggyInvalidRate : model.invalidRate;
    const stream = random.uniform() < model.streamShare ? 1 : 0;
    const dropped = random.uniform() < (this.planted.dropShare ?? 0) ? 2 : 0;
    this.traits[s] = stream | dropped;
    this.lastStage[s] = -1;
    return s;
  }

  private keyed(s: number, target: TickTarget): void {
    const treatment = this.hash[s] < target.weight;
    const traits = this.traits[s];
    if (treatment && (traits & 2) !== 0) return; // lost: the planted sample-ratio mismatch
    const arm = treatment ? target.treatment : target.control;
    if (arm && this.lastStage[s] !== target.stageId) {
      this.lastStage[s] = target.stageId;
      arm.units++;
      // Drawn only when planted, so the other scenarios' random sequences stay as they were.
      const conversion = this.planted.conversion;
      if (conversion) {
        const rate = treatment ? conversion.treatment : conversion.control;
        arm.outcome('conversion', this.bucket[s], this.random.uniform() < rate ? 1 : 0);
      }
    }
    this.request(
      arm,
      treatment,
      this.bucket[s],
      this.latencyOffset[s],
      this.errorFactor[s],
      this.invalidRate[s],
      (traits & 1) === 1,
      target.history,
    );
  }

  private unkeyed(target: TickTarget): void {
    const random = this.random;
    const model = this.model;
    // Without a user the flag's bucket is random per request: each request is its own unit.
    const treatment = random.uniform() < target.weight;
    if (treatment && random.uniform() < (this.planted.dropShare ?? 0)) return;
    const arm = treatment ? target.treatment : target.control;
    if (arm) arm.units++;
    const errorFactor = (random.uniform() < model.fragileShare ? model.fragileFactor : 1) / this.fragileNorm;
    const invalid = random.uniform() < model.buggyShare ? model.buggyInvalidRate : model.invalidRate;
    const offset = model.userLatencySigma * random.normal();
    const stream = random.uniform() < model.streamShare;
    this.request(
      arm,
      treatment,
      random.nextUint32() & BUCKET_MASK,
      offset,
      errorFactor,
      invalid,
      stream,
      target.history,
    );
  }

  private request(
    arm: ArmAccumulator | null,
    treatment: boolean,
    bucket: number,
    latencyOffset: number,
    errorFactor: number,
    invalidRate: number,
    stream: boolean,
    history: ControlHistory,
  ): void {
    const random = this.random;
    const model = this.model;
    const planted = this.planted;
    arm?.row(bucket);
    if (random.uniform() < invalidRate) {
      arm?.invalid(bucket);
      return;
    }
    arm?.request(bucket);
    const baseError = treatment && planted.errorRate !== undefined ? planted.errorRate : model.errorRate;
    const failed = random.uniform() < min(1, baseError * errorFactor + this.tick.errorRate);
    if (!treatment) history.request(failed);
    if (failed) {
      arm?.failure(bucket);
      return;
    }
    if (treatment && planted.stallShare && random.uniform() < planted.stallShare) {
      // No first byte ever comes: the client waits, then gives up.
      arm?.aborted(bucket, binOfLog(log(5000 + random.exponential(10_000))));
      return;
    }
    let x = this.lnMedian + model.latencySigma * random.normal() + latencyOffset;
    if (random.uniform() < model.slowShare) x += log(random.between(2, 5));
    if (treatment) {
      if (planted.latencyFactor) x += log(planted.latencyFactor);
      const stretch = this.stretch;
      if (stretch && x > stretch.from) x += stretch.log * min(1, (x - stretch.from) / (stretch.to - stretch.from));
    }
    x += this.tick.logLatency;
    // A stream's first token comes after 20–50% of the whole answer's time (log-uniform).
    const ttfbLog = stream ? x + LN_TTFB_LOW + LN_TTFB_SPAN * random.uniform() : x;
    if (random.uniform() < model.impatientShare) {
      const wait = random.exponential(model.impatientMeanWaitMs);
      if (log(wait) < ttfbLog) {
        arm?.aborted(bucket, binOfLog(log(max(wait, 1))));
        return;
      }
    }
    const latencyBin = binOfLog(x);
    const ttfbBin = binOfLog(ttfbLog);
    const ttftBin = stream ? ttfbBin : -1;
    arm?.answered(bucket, latencyBin, ttfbBin, ttftBin);
    arm?.answer(bucket, null);
    if (!treatment) history.answered(latencyBin, ttfbBin, ttftBin);
  }

  private setIncident(second: number): void {
    let errorRate = 0;
    let logLatency = 0;
    for (const incident of this.incidents) {
      if (second >= incident.from && second < incident.to) {
        errorRate = max(errorRate, incident.errorRate);
        logLatency = max(logLatency, incident.logLatency);
      }
    }
    this.tick.errorRate = errorRate;
    this.tick.logLatency = logLatency;
  }

  private grow(): void {
    this.reserve(this.hash.length * 2);
  }

  private reserve(size: number): void {
    if (size <= this.hash.length) return;
    const grow = <T extends Float64Array | Uint8Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.hash = grow(this.hash, (n) => new Float64Array(n));
    this.bucket = grow(this.bucket, (n) => new Uint8Array(n));
    this.latencyOffset = grow(this.latencyOffset, (n) => new Float64Array(n));
    this.errorFactor = grow(this.errorFactor, (n) => new Float64Array(n));
    this.invalidRate = grow(this.invalidRate, (n) => new Float64Array(n));
    this.traits = grow(this.traits, (n) => new Uint8Array(n));
    this.lastStage = grow(this.lastStage, (n) => new Int32Array(n));
  }
}

/** binOf() of libs/stats, from the latency's natural log. */
function binOfLog(lnMs: number): number {
  if (lnMs <= 0) return 0;
  const bin = floor(BINS_PER_LN * lnMs);
  return bin > LAST_BIN ? LAST_BIN : bin;
}

import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** What to send to one target. Every generator sends the same shape, so their own cost is the same for each target. */
export interface RequestShape {
  /** e.g. http://127.0.0.1:4010 */
  origin: string;
  path: string;
  /** Headers sent with every request. */
  headers: Record<string, string>;
  /** A header whose value changes per request (the gateway buckets users by `x-user-id`). */
  perRequestHeader?: { name: string; value: (n: number) => string };
  body: (stream: boolean) => string;
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of a list of millisecond values. */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1], mean };
}

function headersFor(shape: RequestShape, n: number): Record<string, string> {
  return shape.perRequestHeader
    ? { ...shape.headers, [shape.perRequestHeader.name]: shape.perRequestHeader.value(n) }
    : shape.headers;
}

// ---- closed loop: autocannon (no bundled types; only the fields used here) ----

interface AutocannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  pipelining: number;
  duration: number;
  timeout: number;
  /** How often autocannon samples, ms; it also stops only at a sample tick. */
  sampleInt: number;
  requests: AutocannonRequest[];
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number; average: number };
  requests: { average: number; total: number; sent: number };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: AutocannonOptions) => Promise<AutocannonResult>;

export interface ClosedLoopResult {
  connections: number;
  durationSec: number;
  /** 2xx responses per second. */
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** autocannon's own latency of 2xx responses under saturation (informational). */
  latencyP50Ms: number;
  latencyP99Ms: number;
}

/** Requests per second at a fixed number of connections, each sending its next request as soon as the last one answers. */
export async function runClosedLoop(
  shape: RequestShape,
  connections: number,
  durationSec: number,
): Promise<ClosedLoopResult> {
  let n = 0;
  const request: AutocannonRequest = {
    method: 'POST',
    path: shape.path,
    headers: shape.headers,
    body: shape.body(false),
  };
  const perRequest = shape.perRequestHeader;
  if (perRequest) {
    request.setupRequest = (req) => ({ ...req, headers: { ...req.headers, [perRequest.name]: perRequest.value(n++) } });
  }
  // autocannon stops at the first sample tick after `duration`: with its default 1 s ticks a 1.5 s run lasts 2 s and a 3 s run
  // sometimes 4 s. Ticks of 100 ms keep a run within 0.1 s of what was asked (rps uses the measured duration either way).
  const result = await autocannon({
    url: shape.origin,
    connections,
    pipelining: 1,
    duration: durationSec,
    timeout: 10,
    sampleInt: 100,
    requests: [request],
  });
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, stat]) => [code, stat.count]),
  );
  return {
    connections,
    durationSec: result.duration,
    rps: result['2xx'] / result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  };
}

/**
 * Several closed-loop slices against one target, added up as if they were one run: `durationSec` is
 * all slices' measured time, `rps` all 2xx over it (not a mean of the slices' rates, which would weigh
 * a short slice like a long one). autocannon's latencies cannot be pooled, so they stay per slice.
 */
export interface PooledClosedLoop extends Omit<ClosedLoopResult, 'latencyP50Ms' | 'latencyP99Ms'> {
  /** Each slice as measured, in the order run. */
  slices: ClosedLoopResult[];
}

export function pooledClosedLoop(slices: ClosedLoopResult[]): PooledClosedLoop {
  const sum = (pick: (slice: ClosedLoopResult) => number) => slices.reduce((total, slice) => total + pick(slice), 0);
  const statusCodes: Record<string, number> = {};
  for (const slice of slices) {
    for (const [code, count] of Object.entries(slice.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  }
  const durationSec = sum((slice) => slice.durationSec);
  const ok = sum((slice) => slice.ok);
  return {
    connections: slices[0]?.connections ?? 0,
    durationSec,
    rps: durationSec > 0 ? ok / durationSec : NaN,
    ok,
    non2xx: sum((slice) => slice.non2xx),
    errors: sum((slice) => slice.errors),
    timeouts: sum((slice) => slice.timeouts),
    statusCodes,
    slices,
  };
}

// ---- open loop: fixed rate, latency from the scheduled send time ----

/** One open-loop run: its counts, and every measured latency and send lag as they came (for pooling). */
export interface OpenLoopSamples {
  ratePerSec: number;
  /** The measured part; the unmeasured lead-in comes on top. */
  durationSec: number;
  unmeasuredSec: number;
  /** Requests due in the measured part. */
  scheduled: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** From each request's scheduled send time to the end of its response body, 2xx only (no coordinated omission). */
  latencyMs: number[];
  /** How late the generator actually sent (timer granularity); already included in latencyMs, the same for every target. */
  sendLagMs: number[];
}

export interface OpenLoopOptions {
  /** Seconds sent at the same rate, on the same connections, before measuring starts (warms the server and the pool). */
  unmeasuredSec?: number;
  maxConnections?: number;
}

/**
 * Sends `ratePerSec` requests per second for `unmeasuredSec` + `durationSec`, on a fixed schedule whatever
 * the answers do: a slow response never delays the next send (a pool of up to `maxConnections` keeps them
 * apart), and each latency is measured from when the request was due, so queueing anywhere counts.
 * Only requests due after the unmeasured lead-in are counted; one schedule and one pool for both parts,
 * so the measured part does not pay for opening connections.
 */
export async function runOpenLoop(
  shape: RequestShape,
  ratePerSec: number,
  durationSec: number,
  options: OpenLoopOptions = {},
): Promise<OpenLoopSamples> {
  const unmeasuredSec = options.unmeasuredSec ?? 0;
  const pool = new Pool(shape.origin, {
    connections: options.maxConnections ?? 512,
    pipelining: 1,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const body = shape.body(false);
  const unmeasured = Math.round(ratePerSec * unmeasuredSec);
  const total = unmeasured + Math.round(ratePerSec * durationSec);
  const intervalMs = 1000 / ratePerSec;
  const latencyMs: number[] = [];
  const sendLagMs: number[] = [];
  const inFlight: Promise<void>[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;

  const send = async (n: number, dueAt: number): Promise<void> => {
    const measured = n >= unmeasured;
    try {
      const response = await pool.request({ method: 'POST', path: shape.path, headers: headersFor(shape, n), body });
      await response.body.arrayBuffer();
      if (!measured) return;
      if (response.statusCode >= 200 && response.statusCode < 300) {
        ok++;
        latencyMs.push(performance.now() - dueAt);
      } else {
        non2xx++;
      }
    } catch {
      if (measured) errors++;
    }
  };

  const start = performance.now() + 1;
  let sent = 0;
  await new Promise<void>((done) => {
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && start + sent * intervalMs <= now) {
        const dueAt = start + sent * intervalMs;
        if (sent >= unmeasured) sendLagMs.push(now - dueAt);
        inFlight.push(send(sent, dueAt));
        sent++;
      }
      if (sent >= total) return done();
      setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  await pool.close();
  return {
    ratePerSec,
    durationSec,
    unmeasuredSec,
    scheduled: total - unmeasured,
    ok,
    non2xx,
    errors,
    latencyMs,
    sendLagMs,
  };
}

export interface OpenLoopResult {
  ratePerSec: number;
  /** How many runs were pooled, and their measured time together. */
  runs: number;
  durationSec: number;
  scheduled: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** Percentiles over the latencies of all runs together. */
  latencyMs: Percentiles;
  sendLagMs: Percentiles;
}

/** Several open-loop runs against one target as one sample: percentiles over all their latencies, not an average of per-run percentiles. */
export function pooledOpenLoop(runs: OpenLoopSamples[]): OpenLoopResult {
  const sum = (pick: (run: OpenLoopSamples) => number) => runs.reduce((total, run) => total + pick(run), 0);
  return {
    ratePerSec: runs[0]?.ratePerSec ?? NaN,
    runs: runs.length,
    durationSec: sum((run) => run.durationSec),
    scheduled: sum((run) => run.scheduled),
    ok: sum((run) => run.ok),
    non2xx: sum((run) => run.non2xx),
    errors: sum((run) => run.errors),
    latencyMs: percentiles(runs.flatMap((run) => run.latencyMs)),
    sendLagMs: percentiles(runs.flatMap((run) => run.sendLagMs)),
  };
}

// ---- stream time to first byte ----

/** One series of stream requests: its counts, and every measured time as it came (for pooling). */
export interface TtfbSamples {
  requests: number;
  ok: number;
  /** Non-2xx answers, and 2xx answers that were not text/event-stream. */
  failures: number;
  firstFailure?: string;
  /** From sending the request to the first chunk of the response body. */
  ttfbMs: number[];
  /** From sending the request to the end of the stream (informational). */
  totalMs: number[];
}

/** Sequential `stream: true` requests over one keep-alive connection, after `warmup` unmeasured ones. */
export async function measureStreamTtfb(shape: RequestShape, count: number, warmup = 20): Promise<TtfbSamples> {
  const pool = new Pool(shape.origin, { connections: 1, pipelining: 1 });
  const body = shape.body(true);
  const ttfbMs: number[] = [];
  const totalMs: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  for (let i = 0; i < warmup + count; i++) {
    const started = performance.now();
    let first: number | undefined;
    try {
      const response = await pool.request({ method: 'POST', path: shape.path, headers: headersFor(shape, i), body });
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) {
        if (first === undefined) first = performance.now() - started;
        if (response.statusCode >= 300) chunks.push(chunk as Buffer);
      }
      const total = performance.now() - started;
      const type = String(response.headers['content-type'] ?? '');
      if (response.statusCode >= 300 || !type.startsWith('text/event-stream')) {
        failures++;
        firstFailure ??= `HTTP ${response.statusCode} ${type}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`;
      } else if (i >= warmup && first !== undefined) {
        ttfbMs.push(first);
        totalMs.push(total);
      }
    } catch (error) {
      failures++;
      firstFailure ??= error instanceof Error ? error.message : String(error);
    }
  }
  await pool.close();
  return { requests: count, ok: ttfbMs.length, failures, firstFailure, ttfbMs, totalMs };
}

export interface TtfbResult {
  runs: number;
  requests: number;
  ok: number;
  failures: number;
  firstFailure?: string;
  /** Percentiles over the times of all runs together. */
  ttfbMs: Percentiles;
  totalMs: Percentiles;
}

/** Several series of stream requests against one target as one sample. */
export function pooledTtfb(runs: TtfbSamples[]): TtfbResult {
  const sum = (pick: (run: TtfbSamples) => number) => runs.reduce((total, run) => total + pick(run), 0);
  return {
    runs: runs.length,
    requests: sum((run) => run.requests),
    ok: sum((run) => run.ok),
    failures: sum((run) => run.failures),
    firstFailure: runs.find((run) => run.firstFailure !== undefined)?.firstFailure,
    ttfbMs: percentiles(runs.flatMap((run) => run.ttfbMs)),
    totalMs: percentiles(runs.flatMap((run) => run.totalMs)),
  };
}

// ---- one request, to check a target answers before measuring it ----

export interface Probe {
  status: number;
  contentType: string;
  headers: Record<string, string>;
  bodyStart: string;
}

export async function probe(shape: RequestShape, stream: boolean): Promise<Probe> {
  const pool = new Pool(shape.origin, { connections: 1 });
  try {
    const response = await pool.request({
      method: 'POST',
      path: shape.path,
      headers: headersFor(shape, 0),
      body: shape.body(stream),
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
    const text = await response.body.text();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers))
      if (value !== undefined) headers[name] = String(value);
    return {
      status: response.statusCode,
      contentType: headers['content-type'] ?? '',
      headers,
      bodyStart: text.slice(0, 300),
    };
  } finally {
    await pool.close();
  }
}

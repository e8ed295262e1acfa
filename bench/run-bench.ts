import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  measureStreamTtfb,
  percentiles,
  pooledOpenLoop,
  pooledTtfb,
  probe,
  runOpenLoop,
  type OpenLoopSamples,
  type RequestShape,
  type TtfbSamples,
} from './load';
import {
  choosePinning,
  cleanup,
  cpuMeter,
  movePostgresToCore,
  type Pinning,
  POSTGRES_NICE,
  ROOT,
  run,
  sampleRss,
  vmRssMB,
  type ChildServer,
} from './processes';
import { PROMPT_SIZE_NAMES, PROMPT_SIZES, promptMessages, type PromptSize } from './prompts';
import {
  checks,
  describeRun,
  table,
  type Check,
  type Report,
  type Settings,
  type SizeResult,
  type TargetResult,
} from './report';
import {
  BENCH_KEY,
  bucketQuantileMs,
  GATEWAY_KEY,
  type IngestionResult,
  overheadBuckets,
  settleIngestion,
  startGateway,
  startNodeFlags,
  startProxy,
  startSimulator,
} from './servers';
import { targetSpecs, type TargetSpec } from './targets';
import { coreTicks, runWrk, wrkMissing } from './wrk';

/**
 * `npm run bench`: the simulator directly (a), the fastest bare Node proxy (b), the Switchyard
 * gateway (c), the gateway with METRICS_ENABLED=false (d), with --baseline the same gateway setup
 * from another build (e), the gateway with the bench key under a spend budget (f) — every target of
 * targets.ts — measured side by side in one run:
 * the servers under test on one core, the load generator (wrk) and the upstream simulator on the
 * other. The headline is the server's CPU time per request (the least noise-sensitive figure on a
 * shared machine), at three prompt sizes (1 KB, 32 KB, 400 KB), next to req/s, added latency at a
 * fixed rate and stream first byte. Results: a table on stdout, bench/results/latest.{json,md}.
 *
 * How it measures, and why. This VM's speed drifts by up to 2× over tens of seconds, so every server
 * is started first and keeps running, and each measurement is split into short slices taken in
 * interleaved rounds: in every round each target gets one slice, round r starting at target r mod n.
 * A target's figures pool all its slices, so the targets see the same mix of fast and slow moments.
 * The gateways' embedded Postgres moves to the load core once up (in production the database has its
 * own host). For (c) the run checks that every request answered has its row in Postgres (zero loss).
 *
 * Options: --only simulator,proxy,gateway,...  --sizes 1k,32k,400k  --baseline <dist/ of another build>
 *          --rounds 6  --processes 2  --connections 64  --warmup 2  --slice 3  --rate 500
 *          --rate-duration 3  --ttfb-count 200  --quick (short run, to check the harness)
 *
 * Every target runs as several processes (--processes), its slices taken from each in turn: two
 * processes of the same build differ by up to ~20% in CPU per request for as long as they run (JIT
 * and heap layout luck), as much as the differences the checks look for, so one process per target
 * would judge its luck.
 */

const USAGE =
  'usage: node dist/bench/run-bench.js [--only ids] [--sizes 1k,32k,400k] [--baseline path/to/other/dist] [--rounds 6]\n' +
  '                                    [--processes 2] [--connections 64] [--warmup 2] [--slice 3] [--rate 500]\n' +
  '                                    [--rate-duration 3]\n' +
  '                                    [--ttfb-count 200] [--quick]\n' +
  '\n' +
  '  --only LIST         measure only these targets (simulator, proxy, gateway, gateway-no-metrics, baseline, ...)\n' +
  '  --sizes LIST        prompt sizes for throughput and CPU per request (1k, 32k, 400k); latency uses the first\n' +
  "  --baseline DIR      also measure the same gateway setup run from DIR (the dist/ of another commit's build)\n" +
  '  --rounds N          interleaved rounds; each round gives every target one slice of each measurement (quick: 2)\n' +
  "  --processes N       processes per target; round r takes the target's slice from process r mod N (quick: 1)\n" +
  '  --connections N     closed-loop connections for throughput (wrk)\n' +
  '  --warmup S          closed-loop warm-up of each target and size before the first round, seconds (quick: 1)\n' +
  '  --slice S           one throughput slice, seconds (quick: 1)\n' +
  '  --rate R            open-loop rate for latency, requests per second\n' +
  '  --rate-duration S   measured part of one latency slice, seconds, after an unmeasured second (quick: 1, after 0.5)\n' +
  '  --ttfb-count N      stream requests per target over all rounds (quick: 40)\n' +
  '  --quick             short run, to check the harness';

function readSettings(specs: (baseline?: string) => TargetSpec[]): Settings {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      sizes: { type: 'string' },
      baseline: { type: 'string' },
      rounds: { type: 'string' },
      processes: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      slice: { type: 'string' },
      rate: { type: 'string' },
      'rate-duration': { type: 'string' },
      'ttfb-count': { type: 'string' },
      quick: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick === true;
  const number = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
    return value;
  };
  const list = (raw: string | undefined) =>
    (raw ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  const known = specs(values.baseline);
  const only = values.only === undefined ? known.filter((s) => !s.optional).map((s) => s.id) : list(values.only);
  for (const id of only) {
    if (!known.some((spec) => spec.id === id))
      throw new Error(
        `--only: unknown target "${id}" (expected ${known.map((s) => s.id).join(', ')}; baseline needs --baseline)`,
      );
  }
  const sizes = values.sizes === undefined ? PROMPT_SIZE_NAMES : list(values.sizes);
  for (const size of sizes) {
    if (!(size in PROMPT_SIZES))
      throw new Error(`--sizes: unknown size "${size}" (expected ${PROMPT_SIZE_NAMES.join(', ')})`);
  }
  return {
    only,
    sizes: sizes as PromptSize[],
    baseline: values.baseline,
    rounds: Math.max(1, Math.round(number('rounds', values.rounds, quick ? 2 : 6))),
    processes: Math.max(1, Math.round(number('processes', values.processes, quick ? 1 : 2))),
    connections: Math.round(number('connections', values.connections, 64)),
    warmupSec: number('warmup', values.warmup, quick ? 1 : 2),
    sliceSec: number('slice', values.slice, quick ? 1 : 3),
    ratePerSec: number('rate', values.rate, 500),
    rateSliceSec: number('rate-duration', values['rate-duration'], quick ? 1 : 3),
    rateWarmupSec: quick ? 0.5 : 1,
    ttfbCount: Math.round(number('ttfb-count', values['ttfb-count'], quick ? 40 : 200)),
  };
}

// ---------------------------------------------------------------- targets

/** One throughput slice of one target at one size, and what the servers and the load core used meanwhile. */
interface ThroughputSlice {
  ok: number;
  failed: number;
  wallSec: number;
  serverCpuSec?: number;
  upstreamCpuSec?: number;
  generatorCpuSec: number;
  loadCore?: { busy: number; total: number };
  rssMaxMB: number;
}

/** One process of a target. */
interface Target {
  spec: TargetSpec;
  server: ChildServer;
  port: number;
  upstream?: ChildServer;
  databaseUrl?: string;
  result: TargetResult;
  /** Request shape per prompt size (bodies for the Node generators), and the body file for wrk. */
  shapes: Record<PromptSize, { shape: RequestShape; bodyFile: string }>;
  slices: Partial<Record<PromptSize, ThroughputSlice[]>>;
  latencySlices: OpenLoopSamples[];
  ttfbSlices: TtfbSamples[];
  /** Gateways that export it: the overhead histogram before the first latency slice and after the last. */
  overhead?: { before?: Map<number, number>; after?: Map<number, number> };
}

/** A target: its processes (--processes), measured in turn and reported as one. */
interface TargetGroup {
  spec: TargetSpec;
  processes: Target[];
}

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const isMeasured = (target: Target) => target.result.status === 'measured';
const isGroupMeasured = (group: TargetGroup) => group.processes.every(isMeasured);

function markFailed(target: Target, error: string): void {
  target.result.status = 'failed';
  target.result.error = error;
  progress(`${target.spec.id}: FAILED: ${error}`);
}

/** Gateways route by policy (and its 50% flag); the simulator and the proxy get the model itself. */
function shapesFor(spec: TargetSpec, port: number): Target['shapes'] {
  const gateway = spec.kind === 'gateway';
  const model = gateway ? 'route:recommendations' : 'deepseek-v3.2';
  const entries = PROMPT_SIZE_NAMES.map((size) => {
    const messages = promptMessages(size);
    const body = (stream: boolean) =>
      JSON.stringify(
        stream ? { model, stream: true, stream_options: { include_usage: true }, messages } : { model, messages },
      );
    const bodyFile = join(run.tempRoot as string, `body-${gateway ? 'gateway' : 'model'}-${size}.json`);
    writeFileSync(bodyFile, body(false));
    const shape: RequestShape = {
      origin: `http://127.0.0.1:${port}`,
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway ? GATEWAY_KEY : BENCH_KEY}` },
      // Sent to every target (the simulator ignores it) so the generator does the same work for each.
      perRequestHeader: { name: 'x-user-id', value: (n) => `user-${n}` },
      body,
    };
    return [size, { shape, bodyFile }] as const;
  });
  return Object.fromEntries(entries) as Target['shapes'];
}

async function startTarget(
  spec: TargetSpec,
  pinning: Pinning,
  upstream: { child: ChildServer; port: number } | undefined,
  index: number,
): Promise<Target> {
  // The first process keeps the target's own name (its data folder, log and catalog in the run's folder).
  const name = index === 0 ? spec.id : `${spec.id}-${index + 1}`;
  const serverCore = pinning.enabled ? pinning.serverCore : undefined;
  const notes: string[] = [];
  let child: ChildServer;
  let port: number;
  let databaseUrl: string | undefined;
  if (spec.kind === 'simulator') {
    ({ child, port } = await startSimulator(`${name}-own`, serverCore));
  } else if (spec.kind === 'proxy') {
    ({ child, port } = await startProxy(upstream!.port, serverCore));
  } else {
    const gateway = await startGateway(upstream!.port, serverCore, name, spec.variant);
    ({ child, port, databaseUrl } = gateway);
    try {
      notes.push(placePostgres(gateway.dataDir, pinning));
      if (spec.setup) notes.push(await spec.setup({ port, adminKey: GATEWAY_KEY, databaseUrl }));
    } catch (error) {
      await child.stop();
      throw error;
    }
  }
  const target: Target = {
    spec,
    server: child,
    port,
    upstream: spec.kind === 'simulator' ? undefined : upstream?.child,
    databaseUrl,
    result: { id: spec.id, label: spec.label, status: 'measured', pid: child.pid, notes, sizes: {} },
    shapes: shapesFor(spec, port),
    slices: {},
    latencySlices: [],
    ttfbSlices: [],
  };
  try {
    for (const stream of [false, true]) {
      const answer = await probe(target.shapes[PROMPT_SIZE_NAMES[0]].shape, stream);
      if (answer.status !== 200)
        throw new Error(`POST /v1/chat/completions answered ${answer.status}: ${answer.bodyStart}`);
    }
  } catch (error) {
    await child.stop();
    throw error;
  }
  target.result.rssIdleMB = vmRssMB(child.pid);
  return target;
}

/** Moves an embedded Postgres off the server core when it can; says where it runs. */
function placePostgres(dataDir: string, pinning: Pinning): string {
  if (process.env.DATABASE_URL) return 'database from DATABASE_URL (external, not started or moved by the bench)';
  if (!pinning.enabled || pinning.loadCore === undefined) return `embedded Postgres not moved (${pinning.note})`;
  const { moved, detail } = movePostgresToCore(dataDir, pinning.loadCore);
  if (!moved) return `embedded Postgres could NOT be moved off the server core (${detail})`;
  return `embedded Postgres on the load core (CPU ${pinning.loadCore}) at nice ${POSTGRES_NICE}`;
}

/**
 * Every selected target's processes, started one after another; (b)–(e) forward to one upstream
 * simulator on the load core. A target one of whose processes fails to start is reported failed.
 */
async function startTargets(settings: Settings, pinning: Pinning, report: Report): Promise<TargetGroup[]> {
  const specs = targetSpecs({ baseline: settings.baseline }).filter((spec) => settings.only.includes(spec.id));
  const groups: TargetGroup[] = [];
  let upstream: { child: ChildServer; port: number } | undefined;
  if (specs.some((spec) => spec.kind !== 'simulator')) {
    progress('starting the upstream simulator');
    upstream = await startSimulator('simulator-upstream', pinning.enabled ? pinning.loadCore : undefined);
  }
  for (const spec of specs) {
    if (run.interrupted) break;
    const group: TargetGroup = { spec, processes: [] };
    try {
      for (let index = 0; index < settings.processes; index++) {
        progress(`${spec.id}: starting process ${index + 1} of ${settings.processes}`);
        const target = await startTarget(spec, pinning, upstream, index);
        group.processes.push(target);
        for (const note of target.result.notes) progress(`${spec.id}: ${note}`);
      }
      groups.push(group);
    } catch (error) {
      await Promise.all(group.processes.map((target) => target.server.stop()));
      report.targets.push({
        id: spec.id,
        label: spec.label,
        status: 'failed',
        error: errorText(error),
        notes: [],
        sizes: {},
      });
      progress(`${spec.id}: FAILED: ${errorText(error)}`);
    }
  }
  return groups;
}

// ---------------------------------------------------------------- measuring

async function measureThroughputSlice(
  target: Target,
  size: PromptSize,
  settings: Settings,
  pinning: Pinning,
): Promise<string> {
  const stopSamplingRss = sampleRss(target.server.pid);
  const serverCpu = cpuMeter(target.server.pid);
  const upstreamCpu = cpuMeter(target.upstream?.pid);
  const loadCoreBefore = coreTicks(pinning.loadCore);
  const startedAt = performance.now();
  const { shape, bodyFile } = target.shapes[size];
  let slice: ThroughputSlice;
  try {
    const load = await runWrk(shape, bodyFile, {
      connections: settings.connections,
      durationSec: settings.sliceSec,
      core: pinning.enabled ? pinning.loadCore : undefined,
      tempDir: run.tempRoot as string,
    });
    const loadCoreAfter = coreTicks(pinning.loadCore);
    slice = {
      ok: load.ok,
      failed: load.non2xx + load.errors + load.timeouts,
      wallSec: (performance.now() - startedAt) / 1000,
      serverCpuSec: serverCpu(),
      upstreamCpuSec: upstreamCpu(),
      generatorCpuSec: load.generatorCpuSec,
      loadCore:
        loadCoreBefore && loadCoreAfter
          ? { busy: loadCoreAfter.busy - loadCoreBefore.busy, total: loadCoreAfter.total - loadCoreBefore.total }
          : undefined,
      rssMaxMB: stopSamplingRss(),
    };
  } catch (error) {
    stopSamplingRss();
    throw error;
  }
  (target.slices[size] ??= []).push(slice);
  const cpu =
    slice.serverCpuSec !== undefined && slice.ok > 0
      ? `, ${((1e6 * slice.serverCpuSec) / slice.ok).toFixed(0)} µs/req`
      : '';
  return `${(slice.ok / slice.wallSec).toFixed(0)} req/s${cpu}`;
}

async function measureLatencySlice(target: Target, settings: Settings): Promise<string> {
  // Only the latency slices' requests land in the histogram between these readings (the targets take turns).
  const reading = target.spec.kind === 'gateway' ? await overheadBuckets(target.port) : undefined;
  if (reading) (target.overhead ??= {}).before ??= reading;
  const samples = await runOpenLoop(
    target.shapes[settings.sizes[0]].shape,
    settings.ratePerSec,
    settings.rateSliceSec,
    {
      unmeasuredSec: settings.rateWarmupSec,
    },
  );
  target.latencySlices.push(samples);
  if (target.overhead) target.overhead.after = await overheadBuckets(target.port);
  const slice = percentiles(samples.latencyMs);
  return `p50 ${slice.p50.toFixed(2)} p99 ${slice.p99.toFixed(2)} ms`;
}

async function measureTtfbSlice(target: Target, settings: Settings): Promise<string> {
  const count = Math.ceil(settings.ttfbCount / settings.rounds);
  const shape = target.shapes[settings.sizes[0]].shape;
  const samples =
    target.ttfbSlices.length === 0 ? await measureStreamTtfb(shape, count) : await measureStreamTtfb(shape, count, 0);
  target.ttfbSlices.push(samples);
  return `p50 ${percentiles(samples.ttfbMs).p50.toFixed(2)} ms`;
}

function rotated<T>(items: T[], round: number): T[] {
  const start = items.length === 0 ? 0 : round % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

/**
 * One slice per measured target per round, the order rotating, from the target's process `round`
 * mod its processes; a target one of whose processes fails is left out of later rounds.
 */
async function inRounds(
  phase: string,
  groups: TargetGroup[],
  rounds: number,
  slice: (target: Target) => Promise<string>,
): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const summaries: string[] = [];
    for (const group of rotated(groups.filter(isGroupMeasured), round)) {
      if (run.interrupted) return;
      const target = group.processes[round % group.processes.length];
      try {
        if (!target.server.running)
          throw new Error(
            `server exited (code ${target.server.exitCode}, signal ${target.server.exitSignal}):\n${target.server.logTail()}`,
          );
        summaries.push(`${target.spec.id} ${await slice(target)}`);
      } catch (error) {
        markFailed(target, `${phase}, round ${round + 1}: ${errorText(error)}`);
      }
    }
    progress(`${phase} round ${round + 1}/${rounds}: ${summaries.join(' · ')}`);
  }
}

/** Streamed requests each target serves during its warm-up. */
const STREAM_WARMUP_REQUESTS = 20;

async function measureAll(groups: TargetGroup[], settings: Settings, pinning: Pinning): Promise<void> {
  for (const size of settings.sizes) {
    for (const target of groups.filter(isGroupMeasured).flatMap((group) => group.processes)) {
      if (run.interrupted) return;
      progress(`${target.spec.id}: warm-up ${settings.warmupSec} s, ${size} prompt`);
      const { shape, bodyFile } = target.shapes[size];
      // Streamed requests too, before any measurement: V8 optimises a server for the kinds of request it
      // has seen, and one that has served only plain requests runs them ~10% cheaper until its first
      // stream. Without this, (c) alone (asked a stream by the quality-signal probe) was measured the
      // way production runs and the targets it is compared with were not (docs/benchmarks.md).
      if (size === settings.sizes[0]) await measureStreamTtfb(shape, 0, STREAM_WARMUP_REQUESTS);
      await runWrk(shape, bodyFile, {
        connections: settings.connections,
        durationSec: settings.warmupSec,
        core: pinning.enabled ? pinning.loadCore : undefined,
        tempDir: run.tempRoot as string,
      }).catch((error: unknown) => markFailed(target, `warm-up: ${errorText(error)}`));
    }
    progress(`throughput, ${size} prompt: ${settings.rounds} rounds of ${settings.sliceSec} s per target`);
    await inRounds(`throughput ${size}`, groups, settings.rounds, (target) =>
      measureThroughputSlice(target, size, settings, pinning),
    );
  }
  if (run.interrupted) return;
  progress(`latency: ${settings.rounds} rounds at ${settings.ratePerSec} req/s, ${settings.sizes[0]} prompt`);
  await inRounds('latency', groups, settings.rounds, (target) => measureLatencySlice(target, settings));
  if (run.interrupted) return;
  progress(`stream first byte: ${settings.rounds} rounds`);
  await inRounds('stream first byte', groups, settings.rounds, (target) => measureTtfbSlice(target, settings));
}

function pooledSize(slices: ThroughputSlice[]): SizeResult {
  const sum = (pick: (slice: ThroughputSlice) => number | undefined) =>
    slices.some((slice) => pick(slice) === undefined)
      ? undefined
      : slices.reduce((total, slice) => total + pick(slice)!, 0);
  const wallSec = sum((slice) => slice.wallSec)!;
  const ok = sum((slice) => slice.ok)!;
  const percent = (seconds: number | undefined) =>
    seconds === undefined || wallSec === 0 ? undefined : (100 * seconds) / wallSec;
  const serverCpuSec = sum((slice) => slice.serverCpuSec);
  const perSlice = slices.flatMap((slice) =>
    slice.serverCpuSec === undefined || slice.ok === 0 ? [] : [(1e6 * slice.serverCpuSec) / slice.ok],
  );
  const busy = sum((slice) => slice.loadCore?.busy);
  const total = sum((slice) => slice.loadCore?.total);
  return {
    rps: ok / wallSec,
    ok,
    failed: sum((slice) => slice.failed)!,
    durationSec: wallSec,
    cpuUsPerRequest: serverCpuSec === undefined || ok === 0 ? undefined : (1e6 * serverCpuSec) / ok,
    cpuUsPerRequestRange: perSlice.length > 1 ? [Math.min(...perSlice), Math.max(...perSlice)] : undefined,
    serverCpuPercent: percent(serverCpuSec),
    upstreamCpuPercent: percent(sum((slice) => slice.upstreamCpuSec)),
    generatorCpuPercent: percent(sum((slice) => slice.generatorCpuSec)),
    loadCoreBusyPercent: busy === undefined || !total ? undefined : (100 * busy) / total,
    rssMaxMB: Math.max(0, ...slices.map((slice) => slice.rssMaxMB)),
  };
}

/** A target's figures: its processes' slices pooled, as if one process had served them all. */
async function summarize(group: TargetGroup): Promise<TargetResult> {
  const { processes } = group;
  const failed = processes.find((target) => !isMeasured(target));
  if (failed) return failed.result;
  const first = processes[0];
  const sizes = [...new Set(processes.flatMap((target) => Object.keys(target.slices)))] as PromptSize[];
  const latencySlices = processes.flatMap((target) => target.latencySlices);
  const ttfbSlices = processes.flatMap((target) => target.ttfbSlices);
  const notes = [...new Set(processes.flatMap((target) => target.result.notes))];
  if (processes.length > 1)
    notes.push(`${processes.length} processes, pids ${processes.map((t) => t.server.pid).join(', ')}`);
  const result: TargetResult = {
    ...first.result,
    notes,
    rssIdleMB: Math.max(...processes.map((target) => target.result.rssIdleMB ?? 0)),
    sizes: Object.fromEntries(
      sizes.map((size) => [size, pooledSize(processes.flatMap((target) => target.slices[size] ?? []))]),
    ),
    openLoop: latencySlices.length > 0 ? pooledOpenLoop(latencySlices) : undefined,
    ttfb: ttfbSlices.length > 0 ? pooledTtfb(ttfbSlices) : undefined,
  };
  const readings = processes.map((target) => target.overhead);
  if (readings.every((reading) => reading?.before && reading.after)) {
    const before = summedBuckets(readings.map((reading) => reading!.before!));
    const after = summedBuckets(readings.map((reading) => reading!.after!));
    result.overheadP50Ms = bucketQuantileMs(before, after, 0.5);
    result.overheadP99Ms = bucketQuantileMs(before, after, 0.99);
  }
  if (group.spec.checksIngestion) {
    try {
      const each = await Promise.all(processes.map((target) => settleIngestion(target.port, target.databaseUrl)));
      const sum = (pick: (ingestion: IngestionResult) => number | undefined) =>
        each.some((ingestion) => pick(ingestion) === undefined)
          ? undefined
          : each.reduce((total, ingestion) => total + pick(ingestion)!, 0);
      result.ingestion = {
        requests: sum((ingestion) => ingestion.requests)!,
        written: sum((ingestion) => ingestion.written)!,
        dropped: sum((ingestion) => ingestion.dropped)!,
        rowsInDatabase: sum((ingestion) => ingestion.rowsInDatabase),
      };
    } catch (error) {
      result.notes.push(`metrics ingestion could not be read: ${errorText(error)}`);
    }
  }
  return result;
}

function summedBuckets(readings: Array<Map<number, number>>): Map<number, number> {
  const summed = new Map<number, number>();
  for (const reading of readings)
    for (const [bound, count] of reading) summed.set(bound, (summed.get(bound) ?? 0) + count);
  return summed;
}

// ---------------------------------------------------------------- main

function gitCommit(): string | undefined {
  const result = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT });
  return result.status === 0 ? result.stdout.toString().trim() : undefined;
}

async function main(): Promise<void> {
  const settings = readSettings((baseline) => targetSpecs({ baseline }));
  const missing = wrkMissing();
  if (missing) throw new Error(missing);
  const pinning = choosePinning();
  progress(`pinning: ${pinning.note}`);
  run.tempRoot = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  chmodSync(run.tempRoot, 0o755); // the embedded Postgres (postgres user) must reach its data dir below

  const report: Report = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    loadAverage1m: loadavg()[0],
    commit: gitCommit(),
    pinning,
    settings,
    notes: [
      'gateways: policy "recommendations" via model "route:recommendations" (a 50% flag between gpt-4.1 and deepseek-v3.2), x-user-id varies per request, ' +
        'an API key on every request (no rate limits), one request_metrics row per request',
      `gateways and the bare proxy: Node flags of \`npm start\`: ${startNodeFlags().join(' ') || 'none'}`,
    ],
    targets: [],
    checks: [],
  };
  const groups = await startTargets(settings, pinning, report);
  // A target's own checks read its first process (each counts what that process served).
  const ownChecks = await Promise.all(
    groups.flatMap(({ spec, processes: [first] }) =>
      spec.checks ? [spec.checks({ port: first.port, adminKey: GATEWAY_KEY, databaseUrl: first.databaseUrl })] : [],
    ),
  );
  await measureAll(groups, settings, pinning);
  if (run.interrupted) return; // the signal handler stops the servers; a partial report would only mislead
  for (const group of groups) report.targets.push(await summarize(group));
  const order = settings.only;
  report.targets.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  const extraChecks = (await Promise.all(ownChecks.map((judge) => judge(report)))).flat();
  finish(report, extraChecks);
}

function finish(report: Report, extraChecks: Check[]): void {
  report.loadAverage1mEnd = loadavg()[0];
  for (const target of report.targets) {
    if (target.status === 'failed') report.notes.push(`${target.id}: FAILED — ${target.error?.split('\n')[0]}`);
    for (const note of target.notes) report.notes.push(`${target.id}: ${note}`);
  }
  report.checks = [...checks(report), ...extraChecks];
  const lines = describeRun(report);
  console.log(
    ['', 'Switchyard benchmark', ...lines, '', table(report, false), '', ...report.notes.map((n) => `note: ${n}`)].join(
      '\n',
    ),
  );
  for (const target of report.targets) {
    if (target.status === 'failed' && target.error?.includes('\n'))
      console.log(`\n${target.id} failure details:\n${target.error}`);
    if (target.ttfb?.firstFailure) console.log(`\n${target.id}: first stream failure: ${target.ttfb.firstFailure}`);
  }
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = [
    '## Benchmark',
    '',
    ...lines.map((l) => `${l}  `),
    '',
    table(report, true),
    '',
    ...report.notes.map((n) => `- ${n}`),
    '',
  ];
  writeFileSync(join(resultsDir, 'latest.md'), markdown.join('\n'));
  console.log(
    `\nwrote ${relative(ROOT, join(resultsDir, 'latest.json'))} and ${relative(ROOT, join(resultsDir, 'latest.md'))}`,
  );
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (run.interrupted) return;
    run.interrupted = true;
    progress(`${sig}: stopping the servers`);
    void cleanup().finally(() => process.exit(130));
  });
}

main()
  .then(async () => {
    if (!run.interrupted) await cleanup();
  })
  .catch(async (error: unknown) => {
    if (run.interrupted) return;
    console.error('bench failed:', errorText(error));
    await cleanup();
    process.exitCode = 1;
  });

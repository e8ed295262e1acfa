import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { generateApiKey } from '../src/access/api-key-format';
import {
  measureStreamTtfb,
  percentiles,
  pooledClosedLoop,
  pooledOpenLoop,
  pooledTtfb,
  probe,
  runClosedLoop,
  runOpenLoop,
  type ClosedLoopResult,
  type OpenLoopResult,
  type OpenLoopSamples,
  type PooledClosedLoop,
  type Probe,
  type RequestShape,
  type TtfbResult,
  type TtfbSamples,
} from './load';

/**
 * `npm run bench`: the simulator directly (a), a bare node:http + undici proxy (b), the Switchyard
 * gateway (c), the gateway with METRICS_ENABLED=false (d) and the gateway with the bench key under a
 * spend budget (e), measured side by side in one run on this machine. Servers under test get one core, the load generator (this process) and the upstream
 * simulator the other. Results: a table on stdout, bench/results/latest.json and bench/results/latest.md.
 *
 * How it measures, and why. This VM's speed drifts by up to 2× over tens of seconds, so a target
 * measured in one block is not comparable with another measured half a minute later. Instead every
 * server is started first and keeps running (an idle server costs next to nothing), and each
 * measurement is split into short slices taken in interleaved rounds: in every round each target gets
 * one slice, round r starting at target r mod n so that each target takes each place in a round in
 * turn. A target's figures pool all its slices (all 2xx / all slice time; percentiles over all
 * latencies together), so the targets see the same mix of fast and slow moments and their ratios to
 * the bare proxy mean something.
 *
 * The gateways' embedded Postgres is moved to the load generator's core once the gateway is up: in
 * production the database runs on its own host, and on the server core it would take about a tenth
 * of the core from the gateway and thrash its caches. It also runs at a lower priority there, so its
 * insert bursts give way to the load generator, whose send delays count in every latency. With
 * DATABASE_URL the database is external and nothing is moved.
 *
 * For (c) the run also reports the rows the metrics writer stored per second during its throughput
 * slices, and checks that every request answered has its row in Postgres (zero loss).
 *
 * Options: --only simulator,proxy,gateway,gateway-no-metrics,gateway-budget  --rounds 6  --connections 64  --warmup 2
 *          --slice 3  --rate 500  --rate-duration 3  --ttfb-count 200  --quick (short run, to check the harness)
 */

const ROOT = process.cwd();
const BENCH_KEY = 'sk-bench-primary';
/** The gateway's SWITCHYARD_ADMIN_KEY: every gateway request is authenticated, as in production. */
const GATEWAY_KEY = generateApiKey().key;
const BENCH_BACKUP_KEY = 'sk-bench-backup';
const TARGET_IDS = ['simulator', 'proxy', 'gateway', 'gateway-no-metrics', 'gateway-budget'] as const;
type TargetId = (typeof TARGET_IDS)[number];
const LABELS: Record<TargetId, string> = {
  simulator: '(a) simulator direct',
  proxy: '(b) bare proxy',
  gateway: '(c) Switchyard gateway',
  'gateway-no-metrics': '(d) gateway, METRICS_ENABLED=false',
  'gateway-budget': '(e) gateway, key under a spend budget',
};
/** (e)'s budget on the bench key: far above what a run spends, so every request is reserved and settled, none refused. */
const BENCH_BUDGET = { scope: 'key', limitUsd: 1_000_000, period: 'day', onExhausted: 'reject' };
/** (e) is "within the noise band" of (c) when its pooled throughput is at least this share of (c)'s. */
const BUDGET_NOISE_BAND = 0.9;
/** The metrics ingestion target of the metrics issue: rows per second the writer stores while serving. */
const MIN_ROWS_PER_SEC = 5000;

const FLAG = {
  key: 'recommendations-model',
  description: 'bench',
  enabled: true,
  variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
  defaultVariant: 'control',
  rollout: { treatment: 50 },
  rules: [],
};

// ---------------------------------------------------------------- options

interface Settings {
  only: TargetId[];
  /** Interleaved rounds: in each, every target gets one slice of each measurement. */
  rounds: number;
  connections: number;
  /** Closed-loop warm-up of each target, once, before the first round. */
  warmupSec: number;
  /** One closed-loop (throughput) slice. */
  sliceSec: number;
  ratePerSec: number;
  /** The measured part of one open-loop (latency) slice. */
  rateSliceSec: number;
  /** Sent before each open-loop slice at the same rate, not measured. */
  rateWarmupSec: number;
  /** Stream requests per target over all rounds (ceil(ttfbCount / rounds) per round). */
  ttfbCount: number;
}

const USAGE =
  'usage: node dist/bench/run-bench.js [--only simulator,proxy,gateway,gateway-no-metrics,gateway-budget] [--rounds 6] [--connections 64] [--warmup 2]\n' +
  '                                    [--slice 3] [--rate 500] [--rate-duration 3] [--ttfb-count 200] [--quick]\n' +
  '\n' +
  '  --rounds N          interleaved rounds; each round gives every target one slice of each measurement (quick: 2)\n' +
  '  --connections N     closed-loop connections for throughput\n' +
  '  --warmup S          closed-loop warm-up of each target before the first round, seconds (quick: 1)\n' +
  '  --slice S           one throughput slice, seconds (quick: 1.5)\n' +
  '  --rate R            open-loop rate for latency, requests per second\n' +
  '  --rate-duration S   measured part of one latency slice, seconds, after an unmeasured second (quick: 1.5, after 0.5)\n' +
  '  --ttfb-count N      stream requests per target over all rounds (quick: 50)\n' +
  '  --only LIST         measure only these targets\n' +
  '  --quick             short run, to check the harness';

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      slice: { type: 'string' },
      rate: { type: 'string' },
      'rate-duration': { type: 'string' },
      'ttfb-count': { type: 'string' },
      duration: { type: 'string' }, // gone; accepted only to say what replaced it
      quick: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.duration !== undefined) {
    throw new Error(
      '--duration is gone: throughput is measured in --rounds interleaved slices of --slice seconds per target (see --help)',
    );
  }
  const quick = values.quick === true;
  const number = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
    return value;
  };
  const only = (values.only ?? TARGET_IDS.join(','))
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  for (const id of only) {
    if (!(TARGET_IDS as readonly string[]).includes(id))
      throw new Error(`--only: unknown target "${id}" (expected ${TARGET_IDS.join(', ')})`);
  }
  return {
    only: TARGET_IDS.filter((id) => only.includes(id)),
    rounds: Math.max(1, Math.round(number('rounds', values.rounds, quick ? 2 : 6))),
    connections: Math.round(number('connections', values.connections, 64)),
    warmupSec: number('warmup', values.warmup, quick ? 1 : 2),
    sliceSec: number('slice', values.slice, quick ? 1.5 : 3),
    ratePerSec: number('rate', values.rate, 500),
    rateSliceSec: number('rate-duration', values['rate-duration'], quick ? 1.5 : 3),
    rateWarmupSec: quick ? 0.5 : 1,
    ttfbCount: Math.round(number('ttfb-count', values['ttfb-count'], quick ? 50 : 200)),
  };
}

/** Stream requests per target in one round, so that the rounds together make at least --ttfb-count. */
function ttfbPerRound(settings: Settings): number {
  return Math.ceil(settings.ttfbCount / settings.rounds);
}

// ---------------------------------------------------------------- cores

interface Pinning {
  enabled: boolean;
  serverCore?: number;
  loadCore?: number;
  note: string;
}

function allowedCpus(): number[] {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1] ?? '';
  const cpuList: number[] = [];
  for (const part of line.split(',')) {
    const [from, to] = part.split('-').map(Number);
    if (!Number.isInteger(from)) continue;
    for (let cpu = from; cpu <= (Number.isInteger(to) ? to : from); cpu++) cpuList.push(cpu);
  }
  return cpuList;
}

function choosePinning(): Pinning {
  let allowed: number[];
  try {
    allowed = allowedCpus();
  } catch {
    return { enabled: false, note: 'no /proc/self/status: nothing pinned' };
  }
  if (allowed.length < 2)
    return { enabled: false, note: `only ${allowed.length} CPU allowed: nothing pinned, figures are less comparable` };
  if (spawnSync('taskset', ['-V']).status !== 0) return { enabled: false, note: 'taskset not found: nothing pinned' };
  const [serverCore, loadCore] = allowed;
  const pinned = spawnSync('taskset', ['-a', '-cp', String(loadCore), String(process.pid)]);
  if (pinned.status !== 0)
    return { enabled: false, note: `taskset failed (${pinned.stderr.toString().trim()}): nothing pinned` };
  return {
    enabled: true,
    serverCore,
    loadCore,
    note: `server under test on CPU ${serverCore} alone; load generator (this process) and upstream simulator on CPU ${loadCore}`,
  };
}

/** The CPUs a process may run on, as the kernel reports them (e.g. "1" or "0-1"). */
function cpusAllowed(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Moves a gateway's embedded Postgres to `core` (the load generator's). Postgres is the gateway's child,
 * so it inherited the server core; there it would take about a tenth of that core and thrash the
 * gateway's caches, while in production the database runs on its own host. Moving the postmaster and
 * its current children (background workers, the gateway's pooled connections) is enough: backends
 * forked later inherit the postmaster's affinity. Returns where Postgres runs now, for the report.
 */
/** Niceness of the moved Postgres: below the generator and the simulator it shares the core with. */
const POSTGRES_NICE = 10;

function movePostgresToCore(dataDir: string, core: number): { moved: boolean; detail: string } {
  const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch (error) {
    return {
      moved: false,
      detail: `cannot read ${pidFile}: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (!Number.isInteger(postmaster) || postmaster <= 0)
    return { moved: false, detail: `no postmaster pid in ${pidFile}` };
  const pin = (pid: number) => {
    // Lower priority too: there it must not delay the load generator's sends, which count in every latency.
    spawnSync('renice', ['-n', String(POSTGRES_NICE), '-p', String(pid)]);
    return spawnSync('taskset', ['-a', '-cp', String(core), String(pid)]);
  };
  const pinned = pin(postmaster);
  if (pinned.status !== 0)
    return { moved: false, detail: `taskset on postmaster ${postmaster} failed: ${pinned.stderr.toString().trim()}` };
  const children = spawnSync('pgrep', ['-P', String(postmaster)])
    .stdout.toString()
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
  // A child may exit between pgrep and taskset (nothing left to move); only the survivors are checked below.
  for (const child of children) pin(child);
  const notMoved = [postmaster, ...children].filter((pid) => {
    const allowed = cpusAllowed(pid);
    return allowed !== undefined && allowed !== String(core);
  });
  if (notMoved.length > 0) return { moved: false, detail: `still not on CPU ${core}: pid ${notMoved.join(', ')}` };
  return { moved: true, detail: `postmaster ${postmaster} and ${children.length} children on CPU ${core}` };
}

// ---------------------------------------------------------------- child processes

const children = new Set<ChildServer>();
let tempRoot: string | undefined;
/** Set on Ctrl-C (or SIGTERM): the rounds stop and no report is written, while the servers are stopped. */
let interrupted = false;

class ChildServer {
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    readonly logFile: string,
    core: number | undefined,
  ) {
    const command = core === undefined ? process.execPath : 'taskset';
    const argv = core === undefined ? [script, ...args] : ['-c', String(core), process.execPath, script, ...args];
    const log = openSync(logFile, 'a');
    // Own process group, so that Ctrl-C reaches only us and stop() can take grandchildren (Postgres) too.
    this.proc = spawn(command, argv, { cwd: ROOT, env, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      this.proc.once('error', () => resolve());
    });
    children.add(this);
  }

  get pid(): number {
    if (this.proc.pid === undefined) throw new Error(`${this.name} did not start`);
    return this.proc.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined && this.exitSignal === undefined && this.proc.pid !== undefined;
  }

  logTail(lines = 25): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM to the process (it stops its own children, e.g. Postgres), then SIGKILL to whatever is left of its group. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.proc.pid !== undefined) {
      if (this.running) {
        signal(this.proc.pid, 'SIGTERM');
        await Promise.race([this.exited, sleep(graceMs)]);
      }
      signal(-this.proc.pid, 'SIGKILL');
    }
    children.delete(this);
  }

  killNow(): void {
    if (this.proc.pid !== undefined) signal(-this.proc.pid, 'SIGKILL');
    children.delete(this);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function cleanup(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop(8_000)));
  removeTempRoot();
}

function removeTempRoot(): void {
  if (tempRoot) rmSync(tempRoot, { recursive: true, force: true });
  tempRoot = undefined;
}

process.on('exit', () => {
  for (const child of children) child.killNow();
  removeTempRoot();
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers `expected`; fails early, with the child's log, if the child exits. */
async function waitUntilReady(child: ChildServer, url: string, timeoutMs: number, expected = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!child.running)
      throw new Error(
        `${child.name} exited (code ${child.exitCode}, signal ${child.exitSignal}) before it was ready:\n${child.logTail()}`,
      );
    try {
      const response = await request(url, { headersTimeout: 2_000, bodyTimeout: 2_000 });
      const text = await response.body.text();
      if (response.statusCode === expected) return;
      last = `HTTP ${response.statusCode} ${text.slice(0, 300)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(100);
  }
  throw new Error(`${child.name} not ready after ${timeoutMs / 1000} s (${url}: ${last}):\n${child.logTail()}`);
}

// ---------------------------------------------------------------- catalogs and servers

interface Catalog {
  providers: { id: string; baseUrl: string; apiKeyEnv: string; backupApiKeyEnv?: string }[];
  models: { id: string; provider: string }[];
  simulator?: { port: number; provider: string; profiles: Record<string, unknown> };
  [key: string]: unknown;
}

function baseCatalog(): Catalog {
  return JSON.parse(readFileSync(join(ROOT, 'src/config/default-catalog.json'), 'utf8')) as Catalog;
}

function simulatedProvider(catalog: Catalog) {
  const providerId = catalog.simulator?.provider ?? 'simulated';
  const provider = catalog.providers.find((p) => p.id === providerId);
  if (!provider) throw new Error(`default catalog: no provider "${providerId}"`);
  return provider;
}

function keyEnv(): NodeJS.ProcessEnv {
  const provider = simulatedProvider(baseCatalog());
  const env: NodeJS.ProcessEnv = { [provider.apiKeyEnv]: BENCH_KEY };
  if (provider.backupApiKeyEnv) env[provider.backupApiKeyEnv] = BENCH_BACKUP_KEY;
  return env;
}

/** The default catalog with every simulated model at zero latency, served on `port`. */
function writeCatalog(file: string, simulatorPort: number, withSimulatorSection: boolean): void {
  const catalog = baseCatalog();
  const provider = simulatedProvider(catalog);
  provider.baseUrl = `http://127.0.0.1:${simulatorPort}/v1`;
  if (withSimulatorSection) {
    if (!catalog.simulator) throw new Error('default catalog has no "simulator" section');
    catalog.simulator.port = simulatorPort;
    const zero = () => ({ latencyMs: { median: 0, p99: 0 }, tokensPerSecond: 0 });
    const ids = new Set([
      ...Object.keys(catalog.simulator.profiles),
      ...catalog.models.filter((m) => m.provider === provider.id).map((m) => m.id),
    ]);
    catalog.simulator.profiles = Object.fromEntries([...ids].map((id) => [id, zero()]));
  } else {
    delete catalog.simulator;
  }
  writeFileSync(file, JSON.stringify(catalog, null, 2));
}

function dist(...parts: string[]): string {
  const file = join(ROOT, 'dist', ...parts);
  if (!existsSync(file))
    throw new Error(`${relative(ROOT, file)} is missing: run \`npm run build\` first (or \`npm run bench\`)`);
  return file;
}

async function startSimulator(name: string, core: number | undefined): Promise<{ child: ChildServer; port: number }> {
  const dir = tempRoot as string;
  const port = await freePort();
  const catalogFile = join(dir, `${name}-catalog.json`);
  writeCatalog(catalogFile, port, true);
  const env = { ...process.env, ...keyEnv(), SWITCHYARD_CATALOG: catalogFile };
  const child = new ChildServer(name, dist('src/simulator/simulator.main.js'), [], env, join(dir, `${name}.log`), core);
  await waitUntilReady(child, `http://127.0.0.1:${port}/_simulator/stats`, 20_000);
  return { child, port };
}

async function startProxy(
  upstreamPort: number,
  core: number | undefined,
): Promise<{ child: ChildServer; port: number }> {
  const dir = tempRoot as string;
  const port = await freePort();
  const script = join(dirname(process.argv[1] ?? join(ROOT, 'dist/bench/run-bench.js')), 'bare-proxy.js');
  const child = new ChildServer(
    'bare proxy',
    script,
    [String(port), `http://127.0.0.1:${upstreamPort}`],
    { ...process.env },
    join(dir, 'proxy.log'),
    core,
  );
  // GET through the proxy reaches the simulator's admin API, so this also checks the forwarding.
  await waitUntilReady(child, `http://127.0.0.1:${port}/_simulator/stats`, 20_000);
  return { child, port };
}

/** The `--` flags of package.json's `start` script, read from there so that the bench cannot drift from it. */
function startNodeFlags(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const start = pkg.scripts?.start ?? '';
  return start
    .split(/\s+/)
    .filter((arg) => arg.startsWith('--'))
    .join(' ');
}

interface StartedGateway {
  child: ChildServer;
  port: number;
  /** SWITCHYARD_DATA_DIR: the embedded Postgres keeps its cluster (and postmaster.pid) in `postgres/` below. */
  dataDir: string;
  /** The embedded Postgres, to count the rows the gateway wrote (unset with DATABASE_URL). */
  databaseUrl?: string;
}

async function startGateway(
  upstreamPort: number,
  core: number | undefined,
  name: string,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<StartedGateway> {
  const dir = tempRoot as string;
  const port = await freePort();
  const pgPort = await freePort();
  const dataDir = join(dir, `${name}-data`);
  mkdirSync(dataDir, { mode: 0o755 });
  chmodSync(dataDir, 0o755); // Postgres runs as the postgres user when we are root
  const catalogFile = join(dir, 'gateway-catalog.json');
  writeCatalog(catalogFile, upstreamPort, false);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...keyEnv(),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SWITCHYARD_DATA_DIR: dataDir,
    SWITCHYARD_EMBEDDED_PG_PORT: String(pgPort),
    SWITCHYARD_CATALOG: catalogFile,
    SWITCHYARD_ADMIN_KEY: GATEWAY_KEY,
    // The Node flags `npm start` runs the gateway with (heap sizes), so the bench measures those.
    NODE_OPTIONS: startNodeFlags(),
    ...extraEnv,
  };
  const child = new ChildServer(name, dist('src/main.js'), [], env, join(dir, `${name}.log`), core);
  await waitUntilReady(child, `http://127.0.0.1:${port}/health/ready`, 90_000);
  if (process.env.DATABASE_URL) return { child, port, dataDir };
  const password = readFileSync(join(dataDir, 'postgres-password'), 'utf8').trim();
  return {
    child,
    port,
    dataDir,
    databaseUrl: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/switchyard`,
  };
}

// ---------------------------------------------------------------- metrics writer

interface WriterCounters {
  requests: number;
  written: number;
  dropped: number;
  queued: number;
}

/** The gateway's own count of requests and of metric rows written, dropped and queued (Prometheus). */
async function writerCounters(port: number): Promise<WriterCounters> {
  const response = await request(`http://127.0.0.1:${port}/metrics`, {
    headers: { authorization: `Bearer ${GATEWAY_KEY}` },
  });
  const text = await response.body.text();
  const sum = (name: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return {
    requests: sum('switchyard_requests_total'),
    written: sum('switchyard_metrics_rows_written_total'),
    dropped: sum('switchyard_metrics_rows_dropped_total'),
    queued: sum('switchyard_metrics_queue_depth'),
  };
}

interface IngestionResult {
  /** Rows the writer stored per second during (c)'s throughput slices. */
  rowsPerSec: number;
  /** Largest queue seen during those slices: a writer that keeps up stays near one batch. */
  maxQueued: number;
  requests: number;
  written: number;
  dropped: number;
  /** Rows counted in Postgres at the end (embedded database only). */
  rowsInDatabase?: number;
}

/** What the metrics writer did during one throughput slice. */
interface WriterDuringSlice {
  rows: number;
  /** From the first counter reading to the last. */
  wallSec: number;
  maxQueued: number;
}

/** Reads the writer's counters now and every 500 ms; the returned function stops and says what it stored meanwhile. */
async function watchWriter(port: number): Promise<() => Promise<WriterDuringSlice>> {
  const first = await writerCounters(port);
  const startedAt = performance.now();
  let maxQueued = first.queued;
  const sampler = setInterval(() => {
    void writerCounters(port).then(
      (counters) => (maxQueued = Math.max(maxQueued, counters.queued)),
      () => undefined,
    );
  }, 500);
  return async () => {
    clearInterval(sampler);
    const last = await writerCounters(port);
    return {
      rows: last.written - first.written,
      wallSec: (performance.now() - startedAt) / 1000,
      maxQueued: Math.max(maxQueued, last.queued),
    };
  };
}

/** After the last request: wait for the queue to drain, then compare requests, rows written and rows in Postgres. */
async function settleIngestion(
  port: number,
  databaseUrl: string | undefined,
  during: WriterDuringSlice[],
): Promise<IngestionResult> {
  let counters = await writerCounters(port);
  for (let i = 0; i < 100 && counters.queued > 0; i++) {
    await sleep(100);
    counters = await writerCounters(port);
  }
  let rowsInDatabase: number | undefined;
  if (databaseUrl) {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      rowsInDatabase = Number((await client.query('SELECT count(*) AS count FROM request_metrics')).rows[0].count);
    } finally {
      await client.end();
    }
  }
  const rows = during.reduce((total, slice) => total + slice.rows, 0);
  const wallSec = during.reduce((total, slice) => total + slice.wallSec, 0);
  return {
    rowsPerSec: wallSec > 0 ? rows / wallSec : NaN,
    maxQueued: Math.max(0, ...during.map((slice) => slice.maxQueued)),
    requests: counters.requests,
    written: counters.written,
    dropped: counters.dropped,
    rowsInDatabase,
  };
}

/** Creates the bench flag through the operator API; says what happened (the flags API may not exist yet). */
async function createFlag(port: number): Promise<{ created: boolean; note: string }> {
  const response = await request(`http://127.0.0.1:${port}/api/flags`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${GATEWAY_KEY}` },
    body: JSON.stringify(FLAG),
  });
  const text = await response.body.text();
  if (response.statusCode === 200 || response.statusCode === 201)
    return { created: true, note: `flag "${FLAG.key}" created (50% treatment)` };
  if (response.statusCode === 409) return { created: true, note: `flag "${FLAG.key}" already existed (409)` };
  if (response.statusCode === 404)
    return {
      created: false,
      note: `POST /api/flags answered 404 (flags not merged yet): gateway measured without the "${FLAG.key}" flag`,
    };
  return {
    created: false,
    note: `POST /api/flags answered ${response.statusCode} (${text.slice(0, 200)}): gateway measured without the flag`,
  };
}

/**
 * Puts the bench key (SWITCHYARD_ADMIN_KEY) under a spend budget: every request of (e) then reserves
 * its worst case from the replica's lease and is settled after, as in production.
 */
async function createBenchBudget(port: number): Promise<string> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${GATEWAY_KEY}` };
  const keys = await request(`http://127.0.0.1:${port}/api/keys`, { headers });
  const listed = (await keys.body.json()) as Array<{ id: string; name: string }>;
  const key = listed.find((candidate) => candidate.name.includes('SWITCHYARD_ADMIN_KEY'));
  if (!key) throw new Error('the bench key is not among the keys: cannot put it under a budget');
  const response = await request(`http://127.0.0.1:${port}/api/budgets`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ ...BENCH_BUDGET, target: key.id }),
  });
  const text = await response.body.text();
  if (response.statusCode !== 201)
    throw new Error(`POST /api/budgets answered ${response.statusCode}: ${text.slice(0, 200)}`);
  return `bench key under a $${BENCH_BUDGET.limitUsd} per ${BENCH_BUDGET.period} key budget (budget ${(JSON.parse(text) as { id: string }).id})`;
}

/**
 * Statements on the budget tables so far, from Postgres' own table statistics (scans and row
 * changes of budgets, budget_periods, budget_leases, budget_hourly_spend): (e)'s syncs, never one
 * per request. Undefined when the database cannot be read.
 */
async function budgetTableActivity(databaseUrl: string | undefined): Promise<number | undefined> {
  if (!databaseUrl) return undefined;
  const { Client } = await import('pg');
  const client = new Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const { rows } = await client.query(
      `SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0) + n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint AS n
         FROM pg_stat_user_tables WHERE relname LIKE 'budget%'`,
    );
    return Number(rows[0].n);
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** (e)'s budget-table statements and its requests so far. */
async function budgetStatementsNow(target: Target): Promise<{ statements: number; requests: number } | undefined> {
  const statements = await budgetTableActivity(target.databaseUrl);
  if (statements === undefined) return undefined;
  return { statements, requests: (await writerCounters(target.port)).requests };
}

// ---------------------------------------------------------------- measuring

function vmRssMB(pid: number): number | undefined {
  try {
    const kb = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s*(\d+)\s*kB/m)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

let clockTicks: number | undefined;
/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number | undefined {
  try {
    clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/** CPU seconds a process uses from now until the returned function is called (undefined if /proc cannot tell). */
function cpuMeter(pid: number | undefined): () => number | undefined {
  const before = pid === undefined ? undefined : cpuSeconds(pid);
  return () => {
    const after = pid === undefined ? undefined : cpuSeconds(pid);
    return before === undefined || after === undefined ? undefined : after - before;
  };
}

/** Samples the resident size every 200 ms; the returned function stops and gives the largest seen. */
function sampleRss(pid: number): () => number {
  let maxMB = vmRssMB(pid) ?? 0;
  const sampler = setInterval(() => (maxMB = Math.max(maxMB, vmRssMB(pid) ?? 0)), 200);
  return () => {
    clearInterval(sampler);
    return Math.max(maxMB, vmRssMB(pid) ?? 0);
  };
}

interface TargetResult {
  id: TargetId;
  label: string;
  status: 'measured' | 'failed';
  error?: string;
  pid?: number;
  probe?: {
    json: Pick<Probe, 'status' | 'contentType'> & { switchyardHeaders: Record<string, string> };
    stream: Pick<Probe, 'status' | 'contentType'>;
  };
  /** Gateways: where their database ran during the run. */
  postgres?: string;
  /** (e) only: statements on the budget tables while it served its requests (Postgres table statistics). */
  budgetStatements?: { statements: number; requests: number };
  /** All throughput slices pooled; `rps.slices[i]` is round i + 1. */
  rps?: PooledClosedLoop;
  openLoop?: OpenLoopResult;
  ttfb?: TtfbResult;
  rssIdleMB?: number;
  /** Largest resident size sampled during the throughput slices. */
  rssMaxMB?: number;
  /** Share of one core the server under test used during its throughput slices (100 = saturated). */
  serverCpuPercent?: number;
  /** The same for the upstream simulator of (b)–(d), which shares its core with the load generator. */
  upstreamCpuPercent?: number;
  /** Share of the server core the other, idle servers took during this target's throughput slices. */
  idleServersCpuPercent?: number;
  /** (c) only: what the metrics writer stored. */
  ingestion?: IngestionResult;
}

/** One throughput slice of one target, and what the servers used meanwhile. */
interface ThroughputSlice {
  load: ClosedLoopResult;
  wallSec: number;
  serverCpuSec?: number;
  upstreamCpuSec?: number;
  rssMaxMB: number;
  /** CPU the other servers on the server core used meanwhile, while idle (0 if none could be read). */
  idleServersCpuSec: number;
  /** (c) only. */
  writer?: WriterDuringSlice;
}

/** A server under test, running for the whole bench, and the slices measured against it so far. */
interface Target {
  id: TargetId;
  server: ChildServer;
  port: number;
  shape: RequestShape;
  /** The shared upstream simulator that (b)–(d) forward to; its CPU is read during their slices. */
  upstream?: ChildServer;
  /** (c): the embedded Postgres, to count the rows in it at the end (unset with DATABASE_URL). */
  databaseUrl?: string;
  /** (c): read the metrics writer's counters around each throughput slice. */
  watchesWriter: boolean;
  /** Status, probe and what is known before the slices; summarize() adds the pooled figures. */
  result: TargetResult;
  throughputSlices: ThroughputSlice[];
  latencySlices: OpenLoopSamples[];
  ttfbSlices: TtfbSamples[];
}

function shapeFor(id: TargetId, port: number): RequestShape {
  const gateway = id.startsWith('gateway');
  const model = gateway ? 'route:recommendations' : 'deepseek-v3.2';
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  headers.authorization = `Bearer ${gateway ? GATEWAY_KEY : BENCH_KEY}`;
  return {
    origin: `http://127.0.0.1:${port}`,
    path: '/v1/chat/completions',
    headers,
    // Sent to every target (the simulator ignores it) so the generator does the same work for each.
    perRequestHeader: { name: 'x-user-id', value: (n) => `user-${n}` },
    body: (stream) =>
      JSON.stringify(
        stream
          ? {
              model,
              stream: true,
              stream_options: { include_usage: true },
              messages: [{ role: 'user', content: 'hi' }],
            }
          : { model, messages: [{ role: 'user', content: 'hi' }] },
      ),
  };
}

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failedResult(id: TargetId, error: string): TargetResult {
  return { id, label: LABELS[id], status: 'failed', error };
}

function isMeasured(target: Target): boolean {
  return target.result.status === 'measured';
}

function markFailed(target: Target, error: string): void {
  target.result.status = 'failed';
  target.result.error = error;
  progress(`${target.id}: FAILED: ${error}`);
}

/** One JSON and one stream request, to check the target answers (and how the gateway routed) before measuring it. */
async function probeTarget(target: Target): Promise<void> {
  const json = await probe(target.shape, false);
  const stream = await probe(target.shape, true);
  const switchyardHeaders = Object.fromEntries(
    Object.entries(json.headers).filter(([name]) => name.startsWith('x-switchyard-')),
  );
  target.result.probe = {
    json: { status: json.status, contentType: json.contentType, switchyardHeaders },
    stream: { status: stream.status, contentType: stream.contentType },
  };
  if (json.status !== 200) throw new Error(`POST /v1/chat/completions answered ${json.status}: ${json.bodyStart}`);
  if (Object.keys(switchyardHeaders).length > 0)
    progress(`${target.id}: routed as ${JSON.stringify(switchyardHeaders)}`);
}

/**
 * Closed loop for --slice seconds; CPU, RSS and (for (c)) the metrics writer are read over exactly that time.
 * `idleServers` are the other servers on the server core: their CPU meanwhile shows what keeping them running costs.
 */
async function measureThroughputSlice(target: Target, settings: Settings, idleServers: ChildServer[]): Promise<string> {
  const stopWatchingWriter = target.watchesWriter ? await watchWriter(target.port) : undefined;
  const stopSamplingRss = sampleRss(target.server.pid);
  const serverCpu = cpuMeter(target.server.pid);
  const upstreamCpu = cpuMeter(target.upstream?.pid);
  const idleCpu = idleServers.map((server) => cpuMeter(server.pid));
  const startedAt = performance.now();
  let load: ClosedLoopResult;
  let slice: Omit<ThroughputSlice, 'load'>;
  try {
    load = await runClosedLoop(target.shape, settings.connections, settings.sliceSec);
  } finally {
    slice = {
      wallSec: (performance.now() - startedAt) / 1000,
      serverCpuSec: serverCpu(),
      upstreamCpuSec: upstreamCpu(),
      rssMaxMB: stopSamplingRss(),
      idleServersCpuSec: idleCpu.reduce((total, used) => total + (used() ?? 0), 0),
    };
    slice.writer = await stopWatchingWriter?.();
  }
  target.throughputSlices.push({ load, ...slice });
  return `${load.rps.toFixed(0)} req/s`;
}

/** Open loop at --rate: an unmeasured lead-in, then --rate-duration seconds whose raw latencies are kept for pooling. */
async function measureLatencySlice(target: Target, settings: Settings): Promise<string> {
  const samples = await runOpenLoop(target.shape, settings.ratePerSec, settings.rateSliceSec, {
    unmeasuredSec: settings.rateWarmupSec,
  });
  target.latencySlices.push(samples);
  const slice = percentiles(samples.latencyMs);
  return `p50 ${slice.p50.toFixed(2)} p99 ${slice.p99.toFixed(2)} ms`;
}

/** Sequential stream requests; only the target's first series is preceded by measureStreamTtfb's warm-up. */
async function measureTtfbSlice(target: Target, settings: Settings): Promise<string> {
  const count = ttfbPerRound(settings);
  const samples =
    target.ttfbSlices.length === 0
      ? await measureStreamTtfb(target.shape, count)
      : await measureStreamTtfb(target.shape, count, 0);
  target.ttfbSlices.push(samples);
  return `p50 ${percentiles(samples.ttfbMs).p50.toFixed(2)} ms`;
}

/** Round `round` visits the targets starting at target round mod n, so each target takes each place in a round in turn. */
function rotated<T>(items: T[], round: number): T[] {
  const start = items.length === 0 ? 0 : round % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

/**
 * Gives every target still measured one slice per round, for `rounds` rounds. A slow spell of the machine
 * then falls on all targets alike instead of on whichever was measured at the time. A target whose
 * server died or whose slice failed is marked failed and left out of later rounds.
 */
async function inRounds(
  phase: string,
  targets: Target[],
  rounds: number,
  measureSlice: (target: Target) => Promise<string>,
): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const summaries: string[] = [];
    for (const target of rotated(targets.filter(isMeasured), round)) {
      if (interrupted) return;
      try {
        if (!target.server.running)
          throw new Error(
            `server exited (code ${target.server.exitCode}, signal ${target.server.exitSignal}):\n${target.server.logTail()}`,
          );
        summaries.push(`${target.id} ${await measureSlice(target)}`);
      } catch (error) {
        markFailed(target, `${phase}, round ${round + 1}: ${errorText(error)}`);
      }
    }
    progress(`${phase} round ${round + 1}/${rounds}: ${summaries.join(' · ')}`);
  }
}

/** Closed loop once per target before the rounds, so the first slices do not measure JIT compilation and pool growth. */
async function warmUp(targets: Target[], settings: Settings): Promise<void> {
  for (const target of targets.filter(isMeasured)) {
    if (interrupted) return;
    progress(`${target.id}: warm-up ${settings.warmupSec} s at ${settings.connections} connections`);
    try {
      await runClosedLoop(target.shape, settings.connections, settings.warmupSec);
    } catch (error) {
      markFailed(target, `warm-up: ${errorText(error)}`);
    }
  }
}

/** Warm-up, then throughput, latency and stream TTFB, each in interleaved rounds (stops early on Ctrl-C). */
async function measureAll(targets: Target[], settings: Settings): Promise<void> {
  const { rounds } = settings;
  const othersThan = (target: Target) => targets.filter((other) => other !== target).map((other) => other.server);
  const phases: [string, string, (target: Target) => Promise<string>][] = [
    [
      'throughput',
      `${rounds} rounds, one ${settings.sliceSec} s slice per target each, ${settings.connections} connections`,
      (target) => measureThroughputSlice(target, settings, othersThan(target)),
    ],
    [
      'latency',
      `${rounds} rounds, one slice per target each, ${settings.ratePerSec} req/s for ${settings.rateSliceSec} s after ${settings.rateWarmupSec} s unmeasured`,
      (target) => measureLatencySlice(target, settings),
    ],
    [
      'stream TTFB',
      `${rounds} rounds, ${ttfbPerRound(settings)} sequential stream requests per target each`,
      (target) => measureTtfbSlice(target, settings),
    ],
  ];
  await warmUp(targets, settings);
  for (const [phase, how, measureSlice] of phases) {
    if (interrupted) return;
    progress(`${phase}: ${how}`);
    await inRounds(phase, targets, rounds, measureSlice);
  }
}

/** The pooled figures of a target's slices. */
function summarize(target: Target): TargetResult {
  if (!isMeasured(target)) return target.result;
  const slices = target.throughputSlices;
  const wallSec = slices.reduce((total, slice) => total + slice.wallSec, 0);
  const cpuPercent = (cpuSec: (slice: ThroughputSlice) => number | undefined): number | undefined => {
    const used = slices.map(cpuSec);
    if (wallSec === 0 || used.some((seconds) => seconds === undefined)) return undefined;
    return (100 * used.reduce((total: number, seconds) => total + (seconds ?? 0), 0)) / wallSec;
  };
  return {
    ...target.result,
    rps: pooledClosedLoop(slices.map((slice) => slice.load)),
    openLoop: pooledOpenLoop(target.latencySlices),
    ttfb: pooledTtfb(target.ttfbSlices),
    rssMaxMB: Math.max(0, ...slices.map((slice) => slice.rssMaxMB)),
    serverCpuPercent: cpuPercent((slice) => slice.serverCpuSec),
    upstreamCpuPercent: target.upstream ? cpuPercent((slice) => slice.upstreamCpuSec) : undefined,
    idleServersCpuPercent: cpuPercent((slice) => slice.idleServersCpuSec),
  };
}

// ---------------------------------------------------------------- starting the targets

interface StartedServer {
  child: ChildServer;
  port: number;
  databaseUrl?: string;
  /** Gateways: where their database runs. */
  postgres?: string;
}

/** Starts one target's server and probes it; a target that does not answer is recorded as failed, its server stopped. */
async function startTarget(
  id: TargetId,
  start: () => Promise<StartedServer>,
  upstream: ChildServer | undefined,
  report: Report,
): Promise<Target | undefined> {
  if (interrupted) return undefined;
  progress(`${id}: starting`);
  let started: StartedServer | undefined;
  let target: Target | undefined;
  try {
    started = await start();
    target = {
      id,
      server: started.child,
      port: started.port,
      shape: shapeFor(id, started.port),
      upstream,
      databaseUrl: started.databaseUrl,
      watchesWriter: id === 'gateway',
      result: { id, label: LABELS[id], status: 'measured', pid: started.child.pid, postgres: started.postgres },
      throughputSlices: [],
      latencySlices: [],
      ttfbSlices: [],
    };
    await probeTarget(target);
    target.result.rssIdleMB = vmRssMB(target.server.pid);
    return target;
  } catch (error) {
    // Keep what the probe saw (e.g. the status the gateway answered) next to the error.
    report.targets[id] = { id, label: LABELS[id], ...target?.result, status: 'failed', error: errorText(error) };
    progress(`${id}: FAILED: ${errorText(error)}`);
    await started?.child.stop();
    return undefined;
  }
}

/** Says where a gateway's database runs, after moving an embedded Postgres off the server core when it can. */
function placePostgres(id: TargetId, gateway: StartedGateway, pinning: Pinning): string {
  if (process.env.DATABASE_URL) return 'database from DATABASE_URL (external, not started or moved by the bench)';
  if (!pinning.enabled || pinning.loadCore === undefined) return `embedded Postgres not moved (${pinning.note})`;
  const { moved, detail } = movePostgresToCore(gateway.dataDir, pinning.loadCore);
  progress(`${id}: embedded Postgres: ${detail}`);
  if (!moved)
    return `embedded Postgres could NOT be moved off the server core (${detail}): it shares CPU ${pinning.serverCore} with the gateway`;
  return `embedded Postgres moved to the load generator's core (CPU ${pinning.loadCore}) at nice ${POSTGRES_NICE}: in production the database runs on its own host`;
}

/** A gateway with its Postgres placed and the bench flag created, or stopped again if either fails. */
async function startGatewayTarget(
  id: TargetId,
  upstreamPort: number,
  pinning: Pinning,
  report: Report,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<StartedServer> {
  const gateway = await startGateway(upstreamPort, pinning.enabled ? pinning.serverCore : undefined, id, extraEnv);
  try {
    const postgres = placePostgres(id, gateway, pinning);
    report.notes.push(`${id}: ${postgres}`);
    const flag = await createFlag(gateway.port);
    if (id === 'gateway') report.notes.push(`gateway: ${flag.note}`);
    progress(`${id}: ${flag.note}`);
    if (id === 'gateway-budget') {
      const budget = await createBenchBudget(gateway.port);
      report.notes.push(`gateway-budget: ${budget}`);
      progress(`${id}: ${budget}`);
    }
    return { ...gateway, postgres };
  } catch (error) {
    await gateway.child.stop();
    throw error;
  }
}

/**
 * Starts every selected server, one after another, and leaves them all running for the whole bench:
 * (a) its own simulator on the server core; (b)–(d) on the server core, forwarding to one upstream
 * simulator on the load core.
 */
async function startTargets(settings: Settings, pinning: Pinning, report: Report): Promise<Target[]> {
  const serverCore = pinning.enabled ? pinning.serverCore : undefined;
  const loadCore = pinning.enabled ? pinning.loadCore : undefined;
  const wanted = (id: TargetId) => settings.only.includes(id);
  const targets: Target[] = [];
  const keep = (target: Target | undefined) => {
    if (target) targets.push(target);
  };

  if (wanted('simulator'))
    keep(await startTarget('simulator', () => startSimulator('simulator-a', serverCore), undefined, report));

  const forwarding = (['proxy', 'gateway', 'gateway-no-metrics', 'gateway-budget'] as const).filter(wanted);
  if (forwarding.length === 0) return targets;
  progress('starting the upstream simulator');
  let upstream: { child: ChildServer; port: number };
  try {
    upstream = await startSimulator('simulator-upstream', loadCore);
  } catch (error) {
    for (const id of forwarding)
      report.targets[id] = failedResult(id, `upstream simulator did not start: ${errorText(error)}`);
    return targets;
  }

  if (wanted('proxy'))
    keep(await startTarget('proxy', () => startProxy(upstream.port, serverCore), upstream.child, report));
  if (wanted('gateway')) {
    report.notes.push(
      'gateway: policy "recommendations" via model "route:recommendations", x-user-id varies per request; one request_metrics row per request (batched writer)',
    );
    report.notes.push(`gateway: Node flags of \`npm start\`: ${startNodeFlags() || 'none'}`);
    report.notes.push('gateway: every request authenticated with an API key (SWITCHYARD_ADMIN_KEY, no rate limits)');
    keep(
      await startTarget(
        'gateway',
        () => startGatewayTarget('gateway', upstream.port, pinning, report),
        upstream.child,
        report,
      ),
    );
  }
  if (wanted('gateway-no-metrics')) {
    const noMetrics = { METRICS_ENABLED: 'false' };
    keep(
      await startTarget(
        'gateway-no-metrics',
        () => startGatewayTarget('gateway-no-metrics', upstream.port, pinning, report, noMetrics),
        upstream.child,
        report,
      ),
    );
  }
  if (wanted('gateway-budget')) {
    keep(
      await startTarget(
        'gateway-budget',
        () => startGatewayTarget('gateway-budget', upstream.port, pinning, report),
        upstream.child,
        report,
      ),
    );
  }
  return targets;
}

/** (c): once the queue has drained, its rows/s during the throughput slices and the zero-loss counts. */
async function settleGatewayIngestion(targets: Target[]): Promise<void> {
  const gateway = targets.find((target) => target.watchesWriter && isMeasured(target));
  if (!gateway) return;
  try {
    const during = gateway.throughputSlices.flatMap((slice) => (slice.writer ? [slice.writer] : []));
    gateway.result.ingestion = await settleIngestion(gateway.port, gateway.databaseUrl, during);
  } catch (error) {
    markFailed(gateway, `metrics ingestion: ${errorText(error)}`);
  }
}

// ---------------------------------------------------------------- report

interface Check {
  name: string;
  value: string;
  limit: string;
  pass: boolean | null;
  /** Why a check could not be judged; printed with the notes. */
  note?: string;
}

interface Report {
  date: string;
  node: string;
  cpu: string;
  cpus: number;
  loadAverage1m: number;
  loadAverage1mEnd?: number;
  commit?: string;
  pinning: Pinning;
  settings: Settings;
  notes: string[];
  targets: Partial<Record<TargetId, TargetResult>>;
  derived: Partial<Record<TargetId, Derived>>;
  checks: Check[];
}

interface Derived {
  rps?: number;
  /** Each round's throughput slice, req/s (round i + 1 at index i). */
  rpsByRound?: number[];
  p50?: number;
  p99?: number;
  addedP50?: number;
  addedP99?: number;
  ttfbP50?: number;
  ttfbP99?: number;
  ttfbAddedP50?: number;
  ttfbAddedP99?: number;
  rssMaxMB?: number;
  serverCpuPercent?: number;
  upstreamCpuPercent?: number;
  sendLagP99?: number;
  failures?: number;
  ingestion?: IngestionResult;
  budgetStatements?: { statements: number; requests: number };
}

function derive(targets: Partial<Record<TargetId, TargetResult>>): Partial<Record<TargetId, Derived>> {
  const measured = (id: TargetId) => (targets[id]?.status === 'measured' ? targets[id] : undefined);
  const sim = measured('simulator');
  const out: Partial<Record<TargetId, Derived>> = {};
  for (const id of TARGET_IDS) {
    const t = measured(id);
    if (!t) continue;
    const minus = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined ? undefined : a - b;
    const d: Derived = {
      rps: t.rps?.rps,
      rpsByRound: t.rps?.slices.map((slice) => slice.rps),
      p50: t.openLoop?.latencyMs.p50,
      p99: t.openLoop?.latencyMs.p99,
      ttfbP50: t.ttfb?.ttfbMs.p50,
      ttfbP99: t.ttfb?.ttfbMs.p99,
      rssMaxMB: t.rssMaxMB,
      ingestion: t.ingestion,
      budgetStatements: t.budgetStatements,
      serverCpuPercent: t.serverCpuPercent,
      upstreamCpuPercent: t.upstreamCpuPercent,
      sendLagP99: t.openLoop?.sendLagMs.p99,
      failures:
        (t.rps ? t.rps.non2xx + t.rps.errors : 0) +
        (t.openLoop ? t.openLoop.non2xx + t.openLoop.errors : 0) +
        (t.ttfb ? t.ttfb.failures : 0),
    };
    if (id !== 'simulator') {
      d.addedP50 = minus(d.p50, sim?.openLoop?.latencyMs.p50);
      d.addedP99 = minus(d.p99, sim?.openLoop?.latencyMs.p99);
      d.ttfbAddedP50 = minus(d.ttfbP50, sim?.ttfb?.ttfbMs.p50);
      d.ttfbAddedP99 = minus(d.ttfbP99, sim?.ttfb?.ttfbMs.p99);
    }
    out[id] = d;
  }
  return out;
}

/** Informational: how much the gateway/proxy ratio moves from one round to the next (the pooled ratio above is what counts). */
function roundRatioCheck(gateway: Derived | undefined, proxy: Derived | undefined): Check {
  const check: Check = {
    name: 'gateway/proxy throughput per round, min–median–max (informational)',
    value: 'n/a',
    limit: '—',
    pass: null,
  };
  const g = gateway?.rpsByRound ?? [];
  const p = proxy?.rpsByRound ?? [];
  const ratios = g.flatMap((rps, round) => (p[round] ? [rps / p[round]] : [])).sort((a, b) => a - b);
  if (ratios.length === 0) return check;
  const middle = ratios.length / 2;
  const median = ratios.length % 2 === 1 ? ratios[Math.floor(middle)] : (ratios[middle - 1] + ratios[middle]) / 2;
  const x = (ratio: number) => `${ratio.toFixed(2)}×`;
  return {
    ...check,
    value: `${x(ratios[0])} – ${x(median)} – ${x(ratios[ratios.length - 1])} (${ratios.length} rounds)`,
  };
}

function checks(derived: Partial<Record<TargetId, Derived>>, ratePerSec: number): Check[] {
  const g = derived.gateway;
  const p = derived.proxy;
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  const list: Check[] = [];
  const ratio = g?.rps !== undefined && p?.rps ? g.rps / p.rps : undefined;
  list.push({
    name: 'gateway throughput ≥ 0.5× bare proxy',
    value: ratio === undefined ? 'n/a' : `${ratio.toFixed(2)}×`,
    limit: '≥ 0.50×',
    pass: ratio === undefined ? null : ratio >= 0.5,
  });
  list.push(roundRatioCheck(g, p));
  for (const key of ['addedP50', 'addedP99'] as const) {
    const percentile = key === 'addedP50' ? 'p50' : 'p99';
    const name = `gateway added ${percentile} at ${ratePerSec} req/s ≤ 2× bare proxy's added`;
    const gv = g?.[key];
    const pv = p?.[key];
    const value = gv === undefined ? 'n/a' : ms(gv);
    if (pv !== undefined && pv <= 0) {
      // A proxy cannot answer faster than the simulator behind it, so a figure ≤ 0 is noise; 2× it would be a limit no target can meet.
      list.push({
        name,
        value,
        limit: 'n/a',
        pass: null,
        note: `check "${name}" not judged: the bare proxy's added ${percentile} came out at ${ms(pv)}, not positive (noise: it forwards to the same simulator), so 2× it is no usable limit`,
      });
      continue;
    }
    const limit = pv === undefined ? undefined : 2 * pv;
    list.push({
      name,
      value,
      limit: limit === undefined ? 'n/a' : `≤ ${ms(limit)}`,
      pass: gv === undefined || limit === undefined ? null : gv <= limit,
    });
  }
  list.push({
    name: 'gateway stream TTFB added (p50) < 2 ms',
    value:
      g?.ttfbAddedP50 === undefined
        ? 'n/a'
        : `${ms(g.ttfbAddedP50)} (p99 ${g.ttfbAddedP99 === undefined ? 'n/a' : ms(g.ttfbAddedP99)})`,
    limit: '< 2.00 ms',
    pass: g?.ttfbAddedP50 === undefined ? null : g.ttfbAddedP50 < 2,
  });
  const off = derived['gateway-no-metrics'];
  list.push({
    name: 'gateway throughput with metrics on vs off (informational)',
    value:
      g?.rps !== undefined && off?.rps
        ? `${g.rps.toFixed(0)} vs ${off.rps.toFixed(0)} req/s (${(g.rps / off.rps).toFixed(2)}×)`
        : 'n/a',
    limit: '—',
    pass: null,
  });
  const budgeted = derived['gateway-budget'];
  const budgetRatio =
    g?.rps !== undefined && budgeted?.rps !== undefined && g.rps > 0 ? budgeted.rps / g.rps : undefined;
  list.push({
    name: `gateway with a key budget: throughput within the noise band of the gateway without (≥ ${BUDGET_NOISE_BAND}×)`,
    value:
      budgetRatio === undefined
        ? 'n/a'
        : `${budgeted!.rps!.toFixed(0)} vs ${g!.rps!.toFixed(0)} req/s (${budgetRatio.toFixed(2)}×); added p50 ` +
          `${budgeted?.addedP50 === undefined ? 'n/a' : ms(budgeted.addedP50)} vs ${g?.addedP50 === undefined ? 'n/a' : ms(g.addedP50)}`,
    limit: `≥ ${BUDGET_NOISE_BAND.toFixed(2)}×`,
    pass: budgetRatio === undefined ? null : budgetRatio >= BUDGET_NOISE_BAND,
  });
  const activity = budgeted?.budgetStatements;
  list.push({
    name: 'gateway with a key budget: statements on the budget tables per request (syncs only, none per request)',
    value: activity
      ? `${activity.statements} statements for ${activity.requests} requests (${(activity.statements / Math.max(1, activity.requests)).toFixed(4)} per request)`
      : 'n/a',
    // A query per request would count at least 1 (a scan) per request; syncs every BUDGET_SYNC_MS come to a few hundredths.
    limit: '< 0.25 per request',
    pass: activity ? activity.statements / Math.max(1, activity.requests) < 0.25 : null,
    note:
      budgeted && !activity
        ? 'budget statements not counted: the database is external (DATABASE_URL) or could not be read'
        : undefined,
  });
  const ingestion = g?.ingestion;
  list.push({
    name: `metrics writer ≥ ${MIN_ROWS_PER_SEC} rows/s while serving`,
    value: ingestion ? `${ingestion.rowsPerSec.toFixed(0)} rows/s (max queue ${ingestion.maxQueued})` : 'n/a',
    limit: `≥ ${MIN_ROWS_PER_SEC}`,
    pass: ingestion ? ingestion.rowsPerSec >= MIN_ROWS_PER_SEC : null,
  });
  const lossless =
    ingestion &&
    ingestion.dropped === 0 &&
    ingestion.written === ingestion.requests &&
    (ingestion.rowsInDatabase ?? ingestion.written) === ingestion.requests;
  list.push({
    name: 'metrics: every request has its row (zero loss)',
    value: ingestion
      ? `${ingestion.requests} requests, ${ingestion.written} rows written, ${ingestion.rowsInDatabase ?? 'n/a'} in Postgres, ${ingestion.dropped} dropped`
      : 'n/a',
    limit: 'all equal, 0 dropped',
    pass: ingestion ? Boolean(lossless) : null,
  });
  list.push({
    name: 'gateway RSS (max during throughput slices) < 200 MB',
    value: g?.rssMaxMB === undefined ? 'n/a' : `${g.rssMaxMB.toFixed(0)} MB`,
    limit: '< 200 MB',
    pass: g?.rssMaxMB === undefined ? null : g.rssMaxMB < 200,
  });
  return list;
}

interface Row {
  label: string;
  value: (d: Derived) => number | undefined;
  digits: number;
  /** Ratio to the bare proxy's same figure. */
  ratio: boolean;
}

function rows(settings: Settings): Row[] {
  const rate = `@ ${settings.ratePerSec} req/s`;
  return [
    { label: `throughput, req/s (${settings.connections} conn)`, value: (d) => d.rps, digits: 0, ratio: true },
    { label: `latency p50 ${rate}, ms`, value: (d) => d.p50, digits: 2, ratio: true },
    { label: `latency p99 ${rate}, ms`, value: (d) => d.p99, digits: 2, ratio: true },
    { label: `added p50 ${rate}, ms`, value: (d) => d.addedP50, digits: 2, ratio: true },
    { label: `added p99 ${rate}, ms`, value: (d) => d.addedP99, digits: 2, ratio: true },
    { label: 'stream TTFB p50, ms', value: (d) => d.ttfbP50, digits: 2, ratio: true },
    { label: 'stream TTFB p99, ms', value: (d) => d.ttfbP99, digits: 2, ratio: true },
    { label: 'stream TTFB added p50, ms', value: (d) => d.ttfbAddedP50, digits: 2, ratio: true },
    { label: 'stream TTFB added p99, ms', value: (d) => d.ttfbAddedP99, digits: 2, ratio: true },
    { label: 'RSS max under load, MB', value: (d) => d.rssMaxMB, digits: 0, ratio: true },
    { label: 'server CPU during throughput, % of a core', value: (d) => d.serverCpuPercent, digits: 0, ratio: false },
    {
      label: 'upstream simulator CPU during throughput, %',
      value: (d) => d.upstreamCpuPercent,
      digits: 0,
      ratio: false,
    },
    { label: `generator send lag p99 ${rate}, ms`, value: (d) => d.sendLagP99, digits: 2, ratio: false },
    { label: 'failed requests (non-2xx + errors)', value: (d) => d.failures, digits: 0, ratio: false },
  ];
}

function cell(row: Row, derived: Partial<Record<TargetId, Derived>>, id: TargetId, report: Report): string {
  const t = report.targets[id];
  if (!t) return '—';
  if (t.status === 'failed') return 'failed';
  const d = derived[id];
  const value = d ? row.value(d) : undefined;
  if (value === undefined || Number.isNaN(value)) return '—';
  const text = value.toLocaleString('en-US', { minimumFractionDigits: row.digits, maximumFractionDigits: row.digits });
  const base = derived.proxy ? row.value(derived.proxy) : undefined;
  // A non-positive base (the proxy's "added" p99 can come out at or below zero on a noisy run) makes no ratio.
  if (!row.ratio || base === undefined || !(base > 0)) return text;
  return `${text} (${(value / base).toFixed(2)}×)`;
}

function table(report: Report, markdown: boolean): string {
  const ids = TARGET_IDS.filter((id) => report.targets[id]);
  const header = ['', ...ids.map((id) => LABELS[id])];
  const body = rows(report.settings).map((row) => [
    row.label,
    ...ids.map((id) => cell(row, report.derived, id, report)),
  ]);
  const checkRows = report.checks.map((c) => [
    c.name,
    c.value,
    c.limit,
    c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'FAIL',
  ]);
  const checkHeader = ['target', 'measured', 'limit', ''];
  if (markdown) {
    const md = (cells: string[][], head: string[]) =>
      [head, head.map(() => '---'), ...cells].map((r) => `| ${r.join(' | ')} |`).join('\n');
    return `${md(body, header)}\n\n${md(checkRows, checkHeader)}`;
  }
  const text = (cells: string[][], head: string[]) => {
    const all = [head, ...cells];
    const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ');
    return [line(head), widths.map((w) => '-'.repeat(w)).join('   '), ...cells.map(line)].join('\n');
  };
  return `${text(body, header)}\n\n${text(checkRows, checkHeader)}`;
}

function describe(report: Report): string[] {
  const s = report.settings;
  const lines = [
    `${report.date} · node ${report.node} · ${report.cpus}× ${report.cpu} · load avg ${report.loadAverage1m.toFixed(2)} → ${(report.loadAverage1mEnd ?? NaN).toFixed(2)} (other work on a shared machine shows up in the p99s)${report.commit ? ` · commit ${report.commit}` : ''}`,
    `pinning: ${report.pinning.note}`,
    `method: every server runs for the whole run; each measurement is taken in ${s.rounds} interleaved rounds, one slice per target per round, round r starting at target r mod n; ` +
      `a target's figures pool all its slices, so a drift of this VM's speed falls on every target alike.`,
    `throughput: autocannon, ${s.connections} connections, ${s.rounds} × ${s.sliceSec} s per target after ${s.warmupSec} s warm-up, req/s = all 2xx / all slice time; ` +
      `latency: open loop ${s.ratePerSec} req/s, ${s.rounds} × ${s.rateSliceSec} s per target (each after ${s.rateWarmupSec} s unmeasured), from each request's scheduled send time, ` +
      `percentiles over all slices pooled; TTFB: ${s.rounds} × ${ttfbPerRound(s)} sequential stream requests per target, first body chunk, pooled. ` +
      `Ratios (×) are to the bare proxy in this run; "added" = target − simulator direct.`,
  ];
  const placements = [...new Set(Object.values(report.targets).flatMap((t) => (t.postgres ? [t.postgres] : [])))];
  if (placements.length > 0) lines.push(`database: ${placements.join('; ')}`);
  return lines;
}

/** Checks the premise of keeping every server running: the idle ones must leave the server core to the one measured. */
function idleServersNote(targets: Report['targets']): string | undefined {
  const shares = Object.values(targets).flatMap((t) =>
    t.status === 'measured' && t.idleServersCpuPercent !== undefined ? [t.idleServersCpuPercent] : [],
  );
  if (shares.length < 2) return undefined;
  return `idle servers: while one target was measured, the others on the server core used ${Math.min(...shares).toFixed(1)}–${Math.max(...shares).toFixed(1)}% of it`;
}

function gitCommit(): string | undefined {
  const result = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT });
  return result.status === 0 ? result.stdout.toString().trim() : undefined;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const settings = readSettings();
  const pinning = choosePinning();
  progress(`pinning: ${pinning.note}`);
  tempRoot = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  chmodSync(tempRoot, 0o755); // the embedded Postgres (postgres user) must reach its data dir below

  const report: Report = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    loadAverage1m: loadavg()[0],
    commit: gitCommit(),
    pinning,
    settings,
    notes: [],
    targets: {},
    derived: {},
    checks: [],
  };
  const targets = await startTargets(settings, pinning, report);
  const budgeted = targets.find((target) => target.id === 'gateway-budget');
  const budgetBefore = budgeted && (await budgetStatementsNow(budgeted));
  await measureAll(targets, settings);
  if (interrupted) return; // the signal handler stops the servers; a partial report would only mislead
  await settleGatewayIngestion(targets);
  for (const target of targets) report.targets[target.id] = summarize(target);
  if (budgeted && budgetBefore) {
    // Postgres publishes a backend's table statistics within about a second of its transactions.
    await sleep(2000);
    const after = await budgetStatementsNow(budgeted);
    if (after && report.targets['gateway-budget']) {
      report.targets['gateway-budget'].budgetStatements = {
        statements: after.statements - budgetBefore.statements,
        requests: after.requests - budgetBefore.requests,
      };
    }
  }
  finish(report);
}

function finish(report: Report): void {
  const settings = report.settings;
  report.loadAverage1mEnd = loadavg()[0];
  for (const t of Object.values(report.targets))
    if (t.status === 'failed') report.notes.push(`${t.id}: FAILED — ${t.error?.split('\n')[0]}`);
  report.derived = derive(report.targets);
  report.checks = checks(report.derived, settings.ratePerSec);
  for (const check of report.checks) if (check.note) report.notes.push(check.note);
  const idleNote = idleServersNote(report.targets);
  if (idleNote) report.notes.push(idleNote);

  const lines = describe(report);
  const printed = [
    '',
    'Switchyard benchmark',
    ...lines,
    '',
    table(report, false),
    '',
    ...report.notes.map((n) => `note: ${n}`),
  ].join('\n');
  console.log(printed);
  for (const t of Object.values(report.targets)) {
    if (t.status === 'failed' && t.error?.includes('\n')) console.log(`\n${t.id} failure details:\n${t.error}`);
    if (t.ttfb?.firstFailure) console.log(`\n${t.id}: first stream failure: ${t.ttfb.firstFailure}`);
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
  ].join('\n');
  writeFileSync(join(resultsDir, 'latest.md'), markdown);
  console.log(
    `\nwrote ${relative(ROOT, join(resultsDir, 'latest.json'))} and ${relative(ROOT, join(resultsDir, 'latest.md'))}`,
  );
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    progress(`${sig}: stopping the servers`);
    void cleanup().finally(() => process.exit(130));
  });
}

main()
  .then(async () => {
    if (!interrupted) await cleanup();
  })
  .catch(async (error: unknown) => {
    if (interrupted) return; // servers stopped under it; the signal handler finishes
    console.error('bench failed:', errorText(error));
    await cleanup();
    process.exitCode = 1;
  });

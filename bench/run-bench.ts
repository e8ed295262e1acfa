import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { generateApiKey } from '../src/access/api-key-format';
import {
  measureStreamTtfb,
  probe,
  runClosedLoop,
  runOpenLoop,
  type ClosedLoopResult,
  type OpenLoopResult,
  type Probe,
  type RequestShape,
  type TtfbResult,
} from './load';

/**
 * `npm run bench`: the simulator directly (a), a bare node:http + undici proxy (b) and the Switchyard
 * gateway (c), measured side by side in one run on this machine. Servers under test get one core, the
 * load generator (this process) and the upstream simulator the other. Results: a table on stdout,
 * bench/results/latest.json and bench/results/latest.md.
 *
 * (d) is the gateway with metrics off, to show what recording every request costs; for (c) the run also
 * reports the rows the metrics writer stored per second during the throughput run, and checks that
 * every request answered has its row in Postgres (zero loss).
 *
 * Options: --only simulator,proxy,gateway,gateway-no-metrics  --connections 64  --duration 8  --warmup 2  --rate 500
 *          --rate-duration 8  --ttfb-count 200  --quick (short run, to check the harness)
 */

const ROOT = process.cwd();
const BENCH_KEY = 'sk-bench-primary';
/** The gateway's SWITCHYARD_ADMIN_KEY: every gateway request is authenticated, as in production. */
const GATEWAY_KEY = generateApiKey().key;
const BENCH_BACKUP_KEY = 'sk-bench-backup';
const TARGET_IDS = ['simulator', 'proxy', 'gateway', 'gateway-no-metrics'] as const;
type TargetId = (typeof TARGET_IDS)[number];
const LABELS: Record<TargetId, string> = {
  simulator: '(a) simulator direct',
  proxy: '(b) bare proxy',
  gateway: '(c) Switchyard gateway',
  'gateway-no-metrics': '(d) gateway, METRICS_ENABLED=false',
};
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
  connections: number;
  durationSec: number;
  warmupSec: number;
  ratePerSec: number;
  rateDurationSec: number;
  rateWarmupSec: number;
  ttfbCount: number;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rate: { type: 'string' },
      'rate-duration': { type: 'string' },
      'ttfb-count': { type: 'string' },
      quick: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: node dist/bench/run-bench.js [--only simulator,proxy,gateway,gateway-no-metrics] [--connections 64] [--duration 8] [--warmup 2]\n' +
        '                                    [--rate 500] [--rate-duration 8] [--ttfb-count 200] [--quick]',
    );
    process.exit(0);
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
    if (!(TARGET_IDS as readonly string[]).includes(id)) throw new Error(`--only: unknown target "${id}" (expected ${TARGET_IDS.join(', ')})`);
  }
  return {
    only: TARGET_IDS.filter((id) => only.includes(id)),
    connections: Math.round(number('connections', values.connections, 64)),
    durationSec: number('duration', values.duration, quick ? 3 : 8),
    warmupSec: number('warmup', values.warmup, quick ? 1 : 2),
    ratePerSec: number('rate', values.rate, 500),
    rateDurationSec: number('rate-duration', values['rate-duration'], quick ? 3 : 8),
    rateWarmupSec: quick ? 0.5 : 1,
    ttfbCount: Math.round(number('ttfb-count', values['ttfb-count'], quick ? 50 : 200)),
  };
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
  let allowed: number[] = [];
  try {
    allowed = allowedCpus();
  } catch {
    return { enabled: false, note: 'no /proc/self/status: nothing pinned' };
  }
  if (allowed.length < 2) return { enabled: false, note: `only ${allowed.length} CPU allowed: nothing pinned, figures are less comparable` };
  if (spawnSync('taskset', ['-V']).status !== 0) return { enabled: false, note: 'taskset not found: nothing pinned' };
  const [serverCore, loadCore] = allowed;
  const pinned = spawnSync('taskset', ['-a', '-cp', String(loadCore), String(process.pid)]);
  if (pinned.status !== 0) return { enabled: false, note: `taskset failed (${pinned.stderr.toString().trim()}): nothing pinned` };
  return {
    enabled: true,
    serverCore,
    loadCore,
    note: `server under test on CPU ${serverCore} alone; load generator (this process) and upstream simulator on CPU ${loadCore}`,
  };
}

// ---------------------------------------------------------------- child processes

const children = new Set<ChildServer>();
let tempRoot: string | undefined;

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
    if (!child.running) throw new Error(`${child.name} exited (code ${child.exitCode}, signal ${child.exitSignal}) before it was ready:\n${child.logTail()}`);
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
    const ids = new Set([...Object.keys(catalog.simulator.profiles), ...catalog.models.filter((m) => m.provider === provider.id).map((m) => m.id)]);
    catalog.simulator.profiles = Object.fromEntries([...ids].map((id) => [id, zero()]));
  } else {
    delete catalog.simulator;
  }
  writeFileSync(file, JSON.stringify(catalog, null, 2));
}

function dist(...parts: string[]): string {
  const file = join(ROOT, 'dist', ...parts);
  if (!existsSync(file)) throw new Error(`${relative(ROOT, file)} is missing: run \`npm run build\` first (or \`npm run bench\`)`);
  return file;
}

async function startSimulator(name: string, core: number | undefined): Promise<{ child: ChildServer; port: number }> {
  const dir = tempRoot as string;
  const port = await freePort();
  const catalogFile = join(dir, `${name}-catalog.json`);
  writeCatalog(catalogFile, port, true);
  const env = { ...process.env, ...keyEnv(), SWITCHYARD_CATALOG: catalogFile };
  const child = new ChildServer(name, dist('src/providers/simulator/simulator.main.js'), [], env, join(dir, `${name}.log`), core);
  await waitUntilReady(child, `http://127.0.0.1:${port}/_simulator/stats`, 20_000);
  return { child, port };
}

async function startProxy(upstreamPort: number, core: number | undefined): Promise<{ child: ChildServer; port: number }> {
  const dir = tempRoot as string;
  const port = await freePort();
  const script = join(dirname(process.argv[1] ?? join(ROOT, 'dist/bench/run-bench.js')), 'bare-proxy.js');
  const child = new ChildServer('bare proxy', script, [String(port), `http://127.0.0.1:${upstreamPort}`], { ...process.env }, join(dir, 'proxy.log'), core);
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
  /** The embedded Postgres, to count the rows the gateway wrote (unset with DATABASE_URL). */
  databaseUrl?: string;
}

async function startGateway(upstreamPort: number, core: number | undefined, name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<StartedGateway> {
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
  if (process.env.DATABASE_URL) return { child, port };
  const password = readFileSync(join(dataDir, 'postgres-password'), 'utf8').trim();
  return { child, port, databaseUrl: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/switchyard` };
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
  const response = await request(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
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
  /** Rows the writer stored per second during the throughput run. */
  rowsPerSec: number;
  /** Largest queue seen during the throughput run: a writer that keeps up stays near one batch. */
  maxQueued: number;
  requests: number;
  written: number;
  dropped: number;
  /** Rows counted in Postgres at the end (embedded database only). */
  rowsInDatabase?: number;
}

/** After the last request: wait for the queue to drain, then compare requests, rows written and rows in Postgres. */
async function settleIngestion(port: number, databaseUrl: string | undefined, during: { rowsPerSec: number; maxQueued: number }): Promise<IngestionResult> {
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
  return { ...during, requests: counters.requests, written: counters.written, dropped: counters.dropped, rowsInDatabase };
}

/** Creates the bench flag through the operator API; says what happened (the flags API may not exist yet). */
async function createFlag(port: number): Promise<{ created: boolean; note: string }> {
  const response = await request(`http://127.0.0.1:${port}/api/flags`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${GATEWAY_KEY}` },
    body: JSON.stringify(FLAG),
  });
  const text = await response.body.text();
  if (response.statusCode === 200 || response.statusCode === 201) return { created: true, note: `flag "${FLAG.key}" created (50% treatment)` };
  if (response.statusCode === 409) return { created: true, note: `flag "${FLAG.key}" already existed (409)` };
  if (response.statusCode === 404) return { created: false, note: `POST /api/flags answered 404 (flags not merged yet): gateway measured without the "${FLAG.key}" flag` };
  return { created: false, note: `POST /api/flags answered ${response.statusCode} (${text.slice(0, 200)}): gateway measured without the flag` };
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

interface TargetResult {
  id: TargetId;
  label: string;
  status: 'measured' | 'failed';
  error?: string;
  pid?: number;
  probe?: { json: Pick<Probe, 'status' | 'contentType'> & { switchyardHeaders: Record<string, string> }; stream: Pick<Probe, 'status' | 'contentType'> };
  rps?: ClosedLoopResult;
  openLoop?: OpenLoopResult;
  ttfb?: TtfbResult;
  rssIdleMB?: number;
  rssMaxMB?: number;
  /** Share of one core the server under test used during the throughput run (100 = saturated). */
  serverCpuPercent?: number;
  /** The same for the upstream simulator of (b) and (c), which shares its core with the load generator. */
  upstreamCpuPercent?: number;
  /** (c) only: what the metrics writer stored. */
  ingestion?: IngestionResult;
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
          ? { model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }
          : { model, messages: [{ role: 'user', content: 'hi' }] },
      ),
  };
}

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

interface ThroughputWatch {
  /** Called when the throughput run starts; the returned function when it ends. */
  start(): Promise<() => Promise<void>>;
}

async function measure(id: TargetId, port: number, pid: number, settings: Settings, upstreamPid?: number, watch?: ThroughputWatch): Promise<TargetResult> {
  const result: TargetResult = { id, label: LABELS[id], status: 'measured', pid };
  const shape = shapeFor(id, port);

  const json = await probe(shape, false);
  const stream = await probe(shape, true);
  const switchyardHeaders = Object.fromEntries(Object.entries(json.headers).filter(([name]) => name.startsWith('x-switchyard-')));
  result.probe = { json: { status: json.status, contentType: json.contentType, switchyardHeaders }, stream: { status: stream.status, contentType: stream.contentType } };
  if (json.status !== 200) {
    return { ...result, status: 'failed', error: `POST /v1/chat/completions answered ${json.status}: ${json.bodyStart}` };
  }
  if (Object.keys(switchyardHeaders).length > 0) progress(`${id}: routed as ${JSON.stringify(switchyardHeaders)}`);

  result.rssIdleMB = vmRssMB(pid);
  progress(`${id}: warm-up ${settings.warmupSec} s at ${settings.connections} connections`);
  await runClosedLoop(shape, settings.connections, settings.warmupSec);

  progress(`${id}: throughput ${settings.durationSec} s at ${settings.connections} connections`);
  let rssMax = vmRssMB(pid) ?? 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, vmRssMB(pid) ?? 0)), 200);
  const cpuBefore = [cpuSeconds(pid), upstreamPid === undefined ? undefined : cpuSeconds(upstreamPid)];
  const startedAt = performance.now();
  const stopWatching = await watch?.start();
  try {
    result.rps = await runClosedLoop(shape, settings.connections, settings.durationSec);
  } finally {
    clearInterval(sampler);
  }
  await stopWatching?.();
  const elapsedSec = (performance.now() - startedAt) / 1000;
  const cpuAfter = [cpuSeconds(pid), upstreamPid === undefined ? undefined : cpuSeconds(upstreamPid)];
  const share = (i: number) => {
    const [before, after] = [cpuBefore[i], cpuAfter[i]];
    return before === undefined || after === undefined ? undefined : (100 * (after - before)) / elapsedSec;
  };
  result.serverCpuPercent = share(0);
  result.upstreamCpuPercent = share(1);
  result.rssMaxMB = Math.max(rssMax, vmRssMB(pid) ?? 0);

  progress(`${id}: open loop ${settings.ratePerSec} req/s for ${settings.rateDurationSec} s (after ${settings.rateWarmupSec} s unmeasured)`);
  await runOpenLoop(shape, settings.ratePerSec, settings.rateWarmupSec);
  result.openLoop = await runOpenLoop(shape, settings.ratePerSec, settings.rateDurationSec);

  progress(`${id}: stream TTFB, ${settings.ttfbCount} sequential requests`);
  result.ttfb = await measureStreamTtfb(shape, settings.ttfbCount);
  return result;
}

// ---------------------------------------------------------------- report

interface Check {
  name: string;
  value: string;
  limit: string;
  pass: boolean | null;
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
}

function derive(targets: Partial<Record<TargetId, TargetResult>>): Partial<Record<TargetId, Derived>> {
  const measured = (id: TargetId) => (targets[id]?.status === 'measured' ? targets[id] : undefined);
  const sim = measured('simulator');
  const out: Partial<Record<TargetId, Derived>> = {};
  for (const id of TARGET_IDS) {
    const t = measured(id);
    if (!t) continue;
    const minus = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a - b);
    const d: Derived = {
      rps: t.rps?.rps,
      p50: t.openLoop?.latencyMs.p50,
      p99: t.openLoop?.latencyMs.p99,
      ttfbP50: t.ttfb?.ttfbMs.p50,
      ttfbP99: t.ttfb?.ttfbMs.p99,
      rssMaxMB: t.rssMaxMB,
      ingestion: t.ingestion,
      serverCpuPercent: t.serverCpuPercent,
      upstreamCpuPercent: t.upstreamCpuPercent,
      sendLagP99: t.openLoop?.sendLagMs.p99,
      failures:
        (t.rps ? t.rps.non2xx + t.rps.errors : 0) + (t.openLoop ? t.openLoop.non2xx + t.openLoop.errors : 0) + (t.ttfb ? t.ttfb.failures : 0),
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
  for (const key of ['addedP50', 'addedP99'] as const) {
    const gv = g?.[key];
    const pv = p?.[key];
    const limit = pv === undefined ? undefined : 2 * Math.max(pv, 0);
    list.push({
      name: `gateway added ${key === 'addedP50' ? 'p50' : 'p99'} at ${ratePerSec} req/s ≤ 2× bare proxy's added`,
      value: gv === undefined ? 'n/a' : ms(gv),
      limit: limit === undefined ? 'n/a' : `≤ ${ms(limit)}`,
      pass: gv === undefined || limit === undefined ? null : gv <= limit,
    });
  }
  list.push({
    name: 'gateway stream TTFB added (p50) < 2 ms',
    value: g?.ttfbAddedP50 === undefined ? 'n/a' : `${ms(g.ttfbAddedP50)} (p99 ${g.ttfbAddedP99 === undefined ? 'n/a' : ms(g.ttfbAddedP99)})`,
    limit: '< 2.00 ms',
    pass: g?.ttfbAddedP50 === undefined ? null : g.ttfbAddedP50 < 2,
  });
  const off = derived['gateway-no-metrics'];
  list.push({
    name: 'gateway throughput with metrics on vs off (informational)',
    value: g?.rps !== undefined && off?.rps ? `${g.rps.toFixed(0)} vs ${off.rps.toFixed(0)} req/s (${(g.rps / off.rps).toFixed(2)}×)` : 'n/a',
    limit: '—',
    pass: null,
  });
  const ingestion = g?.ingestion;
  list.push({
    name: `metrics writer ≥ ${MIN_ROWS_PER_SEC} rows/s while serving`,
    value: ingestion ? `${ingestion.rowsPerSec.toFixed(0)} rows/s (max queue ${ingestion.maxQueued})` : 'n/a',
    limit: `≥ ${MIN_ROWS_PER_SEC}`,
    pass: ingestion ? ingestion.rowsPerSec >= MIN_ROWS_PER_SEC : null,
  });
  const lossless = ingestion && ingestion.dropped === 0 && ingestion.written === ingestion.requests && (ingestion.rowsInDatabase ?? ingestion.written) === ingestion.requests;
  list.push({
    name: 'metrics: every request has its row (zero loss)',
    value: ingestion
      ? `${ingestion.requests} requests, ${ingestion.written} rows written, ${ingestion.rowsInDatabase ?? 'n/a'} in Postgres, ${ingestion.dropped} dropped`
      : 'n/a',
    limit: 'all equal, 0 dropped',
    pass: ingestion ? Boolean(lossless) : null,
  });
  list.push({
    name: 'gateway RSS (max during throughput run) < 200 MB',
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
    { label: 'upstream simulator CPU during throughput, %', value: (d) => d.upstreamCpuPercent, digits: 0, ratio: false },
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
  if (!row.ratio || base === undefined || base === 0 || Number.isNaN(base)) return text;
  return `${text} (${(value / base).toFixed(2)}×)`;
}

function table(report: Report, markdown: boolean): string {
  const ids = TARGET_IDS.filter((id) => report.targets[id]);
  const header = ['', ...ids.map((id) => LABELS[id])];
  const body = rows(report.settings).map((row) => [row.label, ...ids.map((id) => cell(row, report.derived, id, report))]);
  const checkRows = report.checks.map((c) => [c.name, c.value, c.limit, c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'FAIL']);
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
  return [
    `${report.date} · node ${report.node} · ${report.cpus}× ${report.cpu} · load avg ${report.loadAverage1m.toFixed(2)} → ${(report.loadAverage1mEnd ?? NaN).toFixed(2)} (other work on a shared machine shows up in the p99s)${report.commit ? ` · commit ${report.commit}` : ''}`,
    `pinning: ${report.pinning.note}`,
    `throughput: autocannon, ${s.connections} connections, ${s.durationSec} s after ${s.warmupSec} s warm-up; latency: open loop ${s.ratePerSec} req/s for ${s.rateDurationSec} s, ` +
      `measured from each request's scheduled send time; TTFB: ${s.ttfbCount} sequential stream requests, first body chunk. Ratios (×) are to the bare proxy in this run; ` +
      `"added" = target − simulator direct.`,
  ];
}

function gitCommit(): string | undefined {
  const result = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT });
  return result.status === 0 ? result.stdout.toString().trim() : undefined;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const settings = readSettings();
  const pinning = choosePinning();
  const serverCore = pinning.enabled ? pinning.serverCore : undefined;
  const loadCore = pinning.enabled ? pinning.loadCore : undefined;
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
  const run = async (
    id: TargetId,
    start: () => Promise<StartedGateway>,
    upstreamPid?: number,
    before?: (port: number) => Promise<void>,
    ingestion = false,
  ) => {
    let child: ChildServer | undefined;
    try {
      progress(`${id}: starting`);
      const started = await start();
      child = started.child;
      if (before) await before(started.port);
      const during = { rowsPerSec: 0, maxQueued: 0 };
      const watch: ThroughputWatch | undefined = ingestion
        ? {
            start: async () => {
              const first = await writerCounters(started.port);
              const startedAt = performance.now();
              const sampler = setInterval(() => {
                void writerCounters(started.port).then((c) => (during.maxQueued = Math.max(during.maxQueued, c.queued)), () => undefined);
              }, 500);
              return async () => {
                clearInterval(sampler);
                const last = await writerCounters(started.port);
                during.rowsPerSec = (last.written - first.written) / ((performance.now() - startedAt) / 1000);
              };
            },
          }
        : undefined;
      const result = await measure(id, started.port, child.pid, settings, upstreamPid, watch);
      if (ingestion) result.ingestion = await settleIngestion(started.port, started.databaseUrl, during);
      report.targets[id] = result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      report.targets[id] = { id, label: LABELS[id], status: 'failed', error: message };
    } finally {
      await child?.stop();
    }
    const t = report.targets[id];
    if (t?.status === 'failed') progress(`${id}: FAILED: ${t.error}`);
  };

  // (a) the simulator is the server under test, alone on the server core.
  if (settings.only.includes('simulator')) await run('simulator', () => startSimulator('simulator-a', serverCore));

  // (b) and (c) share one upstream simulator, on the load generator's core.
  if (settings.only.some((id) => id !== 'simulator')) {
    progress('starting the upstream simulator');
    let upstream: { child: ChildServer; port: number };
    try {
      upstream = await startSimulator('simulator-upstream', loadCore);
    } catch (error) {
      const message = `upstream simulator did not start: ${error instanceof Error ? error.message : String(error)}`;
      for (const id of ['proxy', 'gateway', 'gateway-no-metrics'] as const) {
        if (settings.only.includes(id)) report.targets[id] = { id, label: LABELS[id], status: 'failed', error: message };
      }
      return finish(report);
    }
    if (settings.only.includes('proxy')) await run('proxy', () => startProxy(upstream.port, serverCore), upstream.child.pid);
    if (settings.only.includes('gateway')) {
      report.notes.push(
        'gateway: policy "recommendations" via model "route:recommendations", x-user-id varies per request; one request_metrics row per request (batched writer)',
      );
      report.notes.push(`gateway: Node flags of \`npm start\`: ${startNodeFlags() || 'none'}`);
      report.notes.push('gateway: every request authenticated with an API key (SWITCHYARD_ADMIN_KEY, no rate limits)');
      if (!process.env.DATABASE_URL) report.notes.push('gateway: embedded Postgres (started by the gateway, so it shares the server core)');
      else report.notes.push('gateway: DATABASE_URL from the environment');
      await run(
        'gateway',
        () => startGateway(upstream.port, serverCore, 'gateway'),
        upstream.child.pid,
        async (port) => {
          const flag = await createFlag(port);
          report.notes.push(`gateway: ${flag.note}`);
          progress(flag.note);
        },
        true,
      );
    }
    if (settings.only.includes('gateway-no-metrics')) {
      await run('gateway-no-metrics', () => startGateway(upstream.port, serverCore, 'gateway-no-metrics', { METRICS_ENABLED: 'false' }), upstream.child.pid, async (port) => {
        await createFlag(port);
      });
    }
    await upstream.child.stop();
  }
  finish(report);
}

function finish(report: Report): void {
  const settings = report.settings;
  report.loadAverage1mEnd = loadavg()[0];
  for (const t of Object.values(report.targets)) if (t.status === 'failed') report.notes.push(`${t.id}: FAILED — ${t.error?.split('\n')[0]}`);
  report.derived = derive(report.targets);
  report.checks = checks(report.derived, settings.ratePerSec);

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
  const markdown = ['## Benchmark', '', ...lines.map((l) => `${l}  `), '', table(report, true), '', ...report.notes.map((n) => `- ${n}`), ''].join('\n');
  writeFileSync(join(resultsDir, 'latest.md'), markdown);
  console.log(`\nwrote ${relative(ROOT, join(resultsDir, 'latest.json'))} and ${relative(ROOT, join(resultsDir, 'latest.md'))}`);
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    progress(`${sig}: stopping the servers`);
    void cleanup().finally(() => process.exit(130));
  });
}

main()
  .then(cleanup)
  .catch(async (error: unknown) => {
    console.error('bench failed:', error instanceof Error ? error.message : error);
    await cleanup();
    process.exitCode = 1;
  });

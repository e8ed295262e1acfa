import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { request } from 'undici';
import { generateApiKey } from '../src/access/api-key-format';
import { ChildServer, freePort, ROOT, run, sleep, waitUntilReady } from './processes';

/** The servers a bench run starts: simulators, the bare proxy, gateways (of this build or another). */

export const BENCH_KEY = 'sk-bench-primary';
/** The gateways' SWITCHYARD_ADMIN_KEY: every gateway request is authenticated, as in production. */
export const GATEWAY_KEY = generateApiKey().key;
const BENCH_BACKUP_KEY = 'sk-bench-backup';

export const FLAG = {
  key: 'recommendations-model',
  description: 'bench',
  enabled: true,
  variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
  defaultVariant: 'control',
  rollout: { treatment: 50 },
  rules: [],
};

export interface Catalog {
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

/** The default catalog with every simulated model at zero latency, served on `port`; `edit` may change it further. */
function writeCatalog(
  file: string,
  simulatorPort: number,
  withSimulatorSection: boolean,
  edit: (catalog: Catalog) => void = () => undefined,
): void {
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
  edit(catalog);
  writeFileSync(file, JSON.stringify(catalog, null, 2));
}

/** A file of the build under `root` (this checkout's dist/ by default, or --baseline's). */
export function dist(path: string, root = join(ROOT, 'dist')): string {
  const file = join(root, path);
  if (!existsSync(file))
    throw new Error(
      root === join(ROOT, 'dist')
        ? `${relative(ROOT, file)} is missing: run \`npm run build\` first (or \`npm run bench\`)`
        : `${file} is missing: --baseline must name the dist/ folder of a built checkout (npx nest build there)`,
    );
  return file;
}

export async function startSimulator(
  name: string,
  core: number | undefined,
): Promise<{ child: ChildServer; port: number }> {
  const dir = run.tempRoot as string;
  const port = await freePort();
  const catalogFile = join(dir, `${name}-catalog.json`);
  writeCatalog(catalogFile, port, true);
  const env = { ...process.env, ...keyEnv(), SWITCHYARD_CATALOG: catalogFile };
  const child = new ChildServer(name, dist('src/simulator/simulator.main.js'), [], env, join(dir, `${name}.log`), core);
  await waitUntilReady(child, `http://127.0.0.1:${port}/_simulator/stats`, 20_000);
  return { child, port };
}

export async function startProxy(
  upstreamPort: number,
  core: number | undefined,
): Promise<{ child: ChildServer; port: number }> {
  // The fastest variant (bare-proxy.ts); its default.
  const dir = run.tempRoot as string;
  const port = await freePort();
  const script = join(dirname(process.argv[1] ?? join(ROOT, 'dist/bench/run-bench.js')), 'bare-proxy.js');
  const child = new ChildServer(
    'bare proxy',
    script,
    [String(port), `http://127.0.0.1:${upstreamPort}`],
    { ...process.env },
    join(dir, 'proxy.log'),
    core,
    startNodeFlags(),
  );
  // GET through the proxy reaches the simulator's admin API, so this also checks the forwarding.
  await waitUntilReady(child, `http://127.0.0.1:${port}/_simulator/stats`, 20_000);
  return { child, port };
}

/**
 * The `--` flags of package.json's `start` script, read from there so that the bench cannot drift
 * from it. Every server under test runs with them, the bare proxy too: a GC setting that makes the
 * gateway cheaper is measured against a floor that has it as well.
 */
export function startNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const start = pkg.scripts?.start ?? '';
  return start.split(/\s+/).filter((arg) => arg.startsWith('--'));
}

export interface StartedGateway {
  child: ChildServer;
  port: number;
  /** SWITCHYARD_DATA_DIR: the embedded Postgres keeps its cluster (and postmaster.pid) in `postgres/` below. */
  dataDir: string;
  /** The embedded Postgres, to count the rows the gateway wrote (unset with DATABASE_URL). */
  databaseUrl?: string;
}

/** How a gateway target differs from the plain one: its environment, catalog and build. */
export interface GatewayVariant {
  env?: NodeJS.ProcessEnv;
  editCatalog?: (catalog: Catalog) => void;
  /** The dist/ folder to run: this checkout's by default. */
  distRoot?: string;
}

export async function startGateway(
  upstreamPort: number,
  core: number | undefined,
  name: string,
  variant: GatewayVariant = {},
): Promise<StartedGateway> {
  const dir = run.tempRoot as string;
  const port = await freePort();
  const pgPort = await freePort();
  const dataDir = join(dir, `${name}-data`);
  mkdirSync(dataDir, { mode: 0o755 });
  chmodSync(dataDir, 0o755); // Postgres runs as the postgres user when we are root
  const catalogFile = join(dir, `${name}-catalog.json`);
  writeCatalog(catalogFile, upstreamPort, false, variant.editCatalog);
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
    // BENCH_NODE_OPTIONS: more flags or preloads for the gateways, to try a heap size or attach a probe.
    NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? '',
    ...variant.env,
  };
  const main = dist('src/main.js', variant.distRoot);
  // The Node flags `npm start` runs the gateway with (heap sizes, GC), so the bench measures those.
  // BENCH_NODE_ARGS: more, on the command line (V8 flags NODE_OPTIONS refuses, such as --trace-gc).
  const extraFlags = process.env.BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
  const child = new ChildServer(name, main, [], env, join(dir, `${name}.log`), core, [
    ...startNodeFlags(),
    ...extraFlags,
  ]);
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

export interface IngestionResult {
  requests: number;
  written: number;
  dropped: number;
  /** Rows counted in Postgres at the end (embedded database only). */
  rowsInDatabase?: number;
}

/**
 * After the last request: wait for the queue to drain, then compare requests, rows written and rows in
 * Postgres. Read only here, once: (c)'s /metrics scraped just before and after each of its slices
 * (outside the CPU window) still put it 5–7% above the same build in another target's slot
 * (docs/benchmarks.md).
 */
export async function settleIngestion(port: number, databaseUrl: string | undefined): Promise<IngestionResult> {
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
  return {
    requests: counters.requests,
    written: counters.written,
    dropped: counters.dropped,
    rowsInDatabase,
  };
}

// ---------------------------------------------------------------- measuring

/** The gateway's overhead histogram (Server-Timing's `gateway`), summed over policies: cumulative count per `le`. */
export async function overheadBuckets(port: number): Promise<Map<number, number> | undefined> {
  const response = await request(`http://127.0.0.1:${port}/metrics`, {
    headers: { authorization: `Bearer ${GATEWAY_KEY}` },
  });
  const text = await response.body.text();
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('switchyard_gateway_overhead_seconds_bucket{')) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return buckets.size > 0 ? buckets : undefined;
}

/** The `q` quantile of the observations between two readings, as the bucket bound it falls under (ms). */
export function bucketQuantileMs(
  before: Map<number, number>,
  after: Map<number, number>,
  q: number,
): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const count = (bound: number) => (after.get(bound) ?? 0) - (before.get(bound) ?? 0);
  const total = count(Infinity);
  if (!(total > 0)) return undefined;
  const bound = bounds.find((b) => count(b) >= q * total);
  return bound === undefined ? undefined : bound * 1000;
}

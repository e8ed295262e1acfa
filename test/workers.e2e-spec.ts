import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateApiKey } from '../src/access/api-key-format';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { BuiltApp, buildApp, npmStartNodeFlags } from './support/built-app';
import { freePort } from './support/free-port';
import { parsePrometheus, sumOf } from './support/prometheus';
import { tempDir } from './support/temp-dir';
import { queryRows } from './support/test-database';
import { writeTestCatalog, type TestCatalog } from './support/test-app';
import { eventually } from './support/webhook-server';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request on a connection of its own (`Connection: close`): the cluster hands each new
 * connection to the next worker, so consecutive requests reach both.
 */
function send(port: number, method: string, path: string, key: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: {
          authorization: `Bearer ${key}`,
          connection: 'close',
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The primary's children that are node processes: the gateway workers. */
function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        return Number(fields[1]) === pid && command === 'node' ? [Number(entry)] : [];
      } catch {
        return [];
      }
    });
}

/**
 * `WORKERS=2 node dist/src/main.js` as `npm start` runs it: one primary with the embedded Postgres
 * and the simulated provider, two gateway workers on one port, real signals to the process group.
 */
describe('WORKERS=2: two gateway processes on one port, one database, one Ctrl-C', () => {
  const adminKey = generateApiKey().key;
  let app: BuiltApp;
  let port: number;
  let dataDir: string;
  let pgPort: number;
  let catalog: TestCatalog;
  /** Every /v1/chat/completions request sent: each must end as one row. */
  let completions = 0;

  const completion = (key: string, body: Record<string, unknown>) => {
    completions++;
    return send(port, 'POST', '/v1/chat/completions', key, body);
  };
  const scrape = async () => parsePrometheus((await send(port, 'GET', '/metrics', adminKey)).body);

  beforeAll(async () => {
    await buildApp();
    dataDir = await tempDir('workers');
    port = await freePort();
    pgPort = await freePort();
    catalog = await writeTestCatalog((c) => {
      // Long enough that every Ctrl-C request is surely in flight at the signal.
      c.simulator.profiles['claude-sonnet-4.5'].latencyMs = { median: 3000, p99: 3000 };
    });
    app = new BuiltApp(
      {
        WORKERS: '2',
        HOST: '127.0.0.1',
        PORT: String(port),
        SWITCHYARD_DATA_DIR: dataDir,
        SWITCHYARD_EMBEDDED_PG_PORT: String(pgPort),
        SWITCHYARD_ADMIN_KEY: adminKey,
        SWITCHYARD_CATALOG: catalog.path,
        RATE_LIMIT_SYNC_MS: '50',
      },
      // Each worker inherits the primary's flags: the GC settings of npm start run in every process.
      { nodeFlags: npmStartNodeFlags() },
    );
    await app.ready();
  }, 240_000);

  afterAll(async () => {
    await app?.stop();
  });

  it('starts two gateway processes that take turns serving the one port', async () => {
    expect(app.stdout).toContain('  Workers:    2 gateway processes share the port (WORKERS)');
    const workers = childPids(app.process.pid!);
    expect(workers).toHaveLength(2);
    // One embedded Postgres, started by the primary; the workers only connect to it.
    const postmaster = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(parentOf(postmaster)).toBe(app.process.pid);

    for (let i = 0; i < 20; i++) {
      const answer = await completion(adminKey, { model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
      expect(answer.status).toBe(200);
    }
    const samples = await scrape();
    const perWorker = samples.filter((s) => s.name === 'switchyard_worker_requests_total');
    expect(perWorker.map((s) => Number(s.labels.pid)).sort()).toEqual([...workers].sort());
    for (const worker of perWorker) expect(worker.value).toBeGreaterThan(0);
    // One scrape, every worker's requests: the primary adds up what each counted.
    expect(sumOf(samples, 'switchyard_requests_total')).toBe(20);
    expect(sumOf(samples, 'switchyard_worker_requests_total')).toBe(20);
  }, 60_000);

  it('applies a flag change in both workers within a second', async () => {
    const flag = {
      key: 'chat-model',
      description: 'workers test',
      enabled: true,
      variants: { control: 'gemini-2.5-flash', treatment: 'deepseek-v3.2' },
      defaultVariant: 'control',
      rollout: { treatment: 0 },
      rules: [],
    };
    const created = await send(port, 'POST', '/api/flags', adminKey, flag);
    expect(created.status).toBe(201);
    const hello = { model: 'route:chat', messages: [{ role: 'user', content: 'hi' }] };
    // Both workers have the flag (each request alternates between them).
    await eventually(async () => {
      const answers = [await completion(adminKey, hello), await completion(adminKey, hello)];
      return answers.every((answer) => answer.headers['x-switchyard-variant'] === 'control');
    }, 5_000);

    const before = await scrape();
    const changed = await send(port, 'PUT', '/api/flags/chat-model/rollout', adminKey, {
      rollout: { treatment: 100 },
      version: JSON.parse(created.body).version,
    });
    expect(changed.status).toBe(200);
    const changedAt = performance.now();
    // From when on does every request, whichever worker serves it, see the new rollout?
    let streakStartedAt: number | undefined;
    let streak = 0;
    while (streak < 10) {
      const sentAt = performance.now();
      const answer = await completion(adminKey, hello);
      if (answer.headers['x-switchyard-variant'] === 'treatment') {
        streakStartedAt ??= sentAt;
        streak++;
      } else {
        streakStartedAt = undefined;
        streak = 0;
      }
      if (performance.now() - changedAt > 10_000) throw new Error('the change had not reached both workers after 10 s');
    }
    expect(streakStartedAt! - changedAt).toBeLessThan(1_000);
    const after = await scrape();
    // Those requests reached both workers.
    for (const worker of after.filter((s) => s.name === 'switchyard_worker_requests_total')) {
      expect(worker.value).toBeGreaterThan(sumOf(before, 'switchyard_worker_requests_total', worker.labels));
    }
  }, 60_000);

  it('reloads the catalog on every worker when the primary gets SIGHUP, and stays up', async () => {
    const workers = childPids(app.process.pid!);
    const shaOf = async () =>
      (JSON.parse((await send(port, 'GET', '/api/catalog', adminKey)).body) as { sha256: string }).sha256;
    const before = await shaOf();
    const edited = JSON.parse(readFileSync(catalog.path, 'utf8')) as {
      models: Array<{ pricing: { inputPer1M: number } }>;
    };
    edited.models[0].pricing.inputPer1M = edited.models[0].pricing.inputPer1M === 0.5 ? 0.6 : 0.5;
    writeFileSync(catalog.path, JSON.stringify(edited));
    process.kill(app.process.pid!, 'SIGHUP');
    // Consecutive connections go to the workers in turn: four in a row with the new catalog is both.
    await eventually(
      async () => {
        for (let i = 0; i < 4; i++) if ((await shaOf()) === before) return false;
        return true;
      },
      10_000,
      'the new catalog on both workers',
    );
    expect(app.process.exitCode).toBeNull();
    expect(app.process.exitCode).toBeNull();
    expect(childPids(app.process.pid!).sort()).toEqual([...workers].sort());
  }, 30_000);

  it("holds a key's per-minute limit across both workers", async () => {
    const created = await send(port, 'POST', '/api/keys', adminKey, {
      name: 'limited-team',
      scopes: ['gateway'],
      requestsPerMinute: 10,
    });
    expect(created.status).toBe(201);
    const key = (JSON.parse(created.body) as { key: string }).key;
    // Both workers know the new key (GET /v1/models does not count against the limit).
    let known = 0;
    await eventually(async () => {
      known = (await send(port, 'GET', '/v1/models', key)).status === 200 ? known + 1 : 0;
      return known >= 4;
    }, 10_000);
    // The limit counts in fixed minutes of the server's clock (this machine's): start the ~5 s of
    // requests well inside one, or a new minute would rightly admit another ten.
    const leftInMinute = 60_000 - (Date.now() % 60_000);
    if (leftInMinute < 10_000) await new Promise((resolve) => setTimeout(resolve, leftInMinute + 100));
    const hello = { model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] };
    const statuses: number[] = [];
    // One request every 4 sync intervals (RATE_LIMIT_SYNC_MS=50), alternating between the workers.
    for (let i = 0; i < 24; i++) {
      const sentAt = performance.now();
      statuses.push((await completion(key, hello)).status);
      const spacing = 200 - (performance.now() - sentAt);
      if (spacing > 0) await new Promise((resolve) => setTimeout(resolve, spacing));
    }
    const admitted = statuses.filter((status) => status === 200).length;
    // Each worker alone would admit 10 (20 in all). Shared, the limit holds; at most one request more
    // can pass when a sync is late (rate-windows.ts: (N - 1) × rate × sync interval = 1 × 5/s × 50 ms).
    expect(admitted).toBeGreaterThanOrEqual(10);
    expect(admitted).toBeLessThanOrEqual(11);
    expect(statuses.filter((status) => status === 429)).toHaveLength(24 - admitted);
  }, 60_000);

  it('drains both workers on Ctrl-C, stores every row, then stops the one Postgres', async () => {
    const hello = { model: 'claude-sonnet-4.5', messages: [{ role: 'user', content: 'hi' }] };
    const inFlight = Array.from({ length: 12 }, () => completion(adminKey, hello));
    const simulatorUrl = `http://127.0.0.1:${catalog.simulatorPort}`;
    await eventually(
      async () => {
        const stats = (await (await fetch(`${simulatorUrl}/_simulator/stats`)).json()) as {
          byModel: Record<string, number>;
        };
        return stats.byModel['claude-sonnet-4.5'] === 12;
      },
      20_000,
      'all 12 requests at the simulator',
    );
    app.signalGroup('SIGINT');
    const answers = await Promise.all(inFlight);
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    const exit = await app.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    const shutdowns = app
      .logLines()
      .filter((line) => line.context === 'Shutdown' && /^stopped in/.test(String(line.msg)));
    expect(shutdowns).toHaveLength(2);
    // The primary stopped its Postgres cleanly, last (Postgres removes its pid file only then).
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    const server = new EmbeddedPostgresServer({ dataDir, port: pgPort });
    try {
      const [{ count }] = await queryRows<{ count: string }>(
        await server.start(),
        'SELECT count(*) AS count FROM request_metrics',
      );
      expect(Number(count)).toBe(completions);
    } finally {
      await server.stop();
    }
  }, 120_000);
});

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { countTokens } from 'gpt-tokenizer';
import { generateApiKey } from '../src/access/api-key-format';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { BuiltApp, buildApp, npmStartNodeFlags } from './support/built-app';
import { freePort } from './support/free-port';
import { PausedPostgres } from './support/paused-postgres';
import { PostgresRelay } from './support/postgres-relay';
import { tempDir } from './support/temp-dir';
import { queryRows } from './support/test-database';
import { writeTestCatalog } from './support/test-app';
import { eventually } from './support/webhook-server';

/**
 * `node dist/src/main.js` without DATABASE_URL, as `npm start` runs it: its own embedded Postgres,
 * real signals to its process group, real exits.
 */
describe('the built app as npm start runs it', () => {
  const running: BuiltApp[] = [];

  beforeAll(async () => {
    await buildApp();
  }, 240_000);

  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
  });

  async function settings(dataDir: string) {
    return {
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      SWITCHYARD_DATA_DIR: dataDir,
      SWITCHYARD_EMBEDDED_PG_PORT: String(await freePort()),
      SWITCHYARD_ADMIN_KEY: generateApiKey().key,
    };
  }

  function start(env: Record<string, string | undefined>): BuiltApp {
    const app = new BuiltApp(env);
    running.push(app);
    return app;
  }

  function postmasterPid(dataDir: string): number | undefined {
    const file = join(dataDir, 'postgres', 'postmaster.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
  }

  /** The metric rows' spool files in the app's data folder. */
  function spoolFiles(dataDir: string): string[] {
    const dir = join(dataDir, 'spool');
    return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
  }

  /** Every row in them, in its stored form (header lines left out). */
  function spooledRows(dataDir: string): unknown[][] {
    return spoolFiles(dataDir).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((line) => JSON.parse(line) as unknown[]),
    );
  }

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  async function storedRows(dataDir: string, port: number): Promise<number> {
    const server = new EmbeddedPostgresServer({ dataDir, port });
    try {
      const [{ count }] = await queryRows<{ count: string }>(
        await server.start(),
        'SELECT count(*) AS count FROM request_metrics',
      );
      return Number(count);
    } finally {
      await server.stop();
    }
  }

  it('answers every request in flight on Ctrl-C, stores every row, stops Postgres last and exits promptly', async () => {
    const dataDir = await tempDir('ctrl-c');
    const catalog = await writeTestCatalog((c) => {
      c.simulator.profiles['gpt-4.1'].latencyMs = { median: 6000, p99: 6000 };
    });
    const env = { ...(await settings(dataDir)), SWITCHYARD_CATALOG: catalog.path };
    const app = start(env);
    await app.ready();
    // The banner is what start-up ends with; Nest's route lines are not at info level.
    const banner = app.stdout.trimEnd().split('\n').slice(-6);
    expect(banner[0]).toBe(
      `Switchyard is ready at http://127.0.0.1:${env.PORT} (listening on 127.0.0.1:${env.PORT} only)`,
    );
    expect(banner[1]).toBe(`  Control room: http://127.0.0.1:${env.PORT}/ui (sign in with a read or admin key)`);
    expect(banner[2]).toBe(`  API docs:   http://127.0.0.1:${env.PORT}/docs`);
    expect(banner[3]).toContain('Admin key:  the value of SWITCHYARD_ADMIN_KEY');
    expect(app.stdout).not.toContain('RouterExplorer');
    expect((await fetch(`http://127.0.0.1:${env.PORT}/docs`)).status).toBe(200);
    // The control room, from dist/ui beside the built app (UI_DIR unset), as npm start serves it.
    const ui = await fetch(`http://127.0.0.1:${env.PORT}/ui`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('/ui/assets/app-');

    const send = () =>
      fetch(`http://127.0.0.1:${env.PORT}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.SWITCHYARD_ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] }),
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as { id?: string } }));
    const answers = Promise.all(Array.from({ length: 30 }, send));
    // Every request has reached the simulator, which holds each for 6 s: all 30 are in flight.
    await eventually(
      async () => {
        const stats = await fetch(`http://127.0.0.1:${catalog.simulatorPort}/_simulator/stats`);
        return ((await stats.json()) as { total: number }).total === 30;
      },
      20_000,
      'all 30 requests at the simulator',
    );
    const signalledAt = Date.now();
    app.signalGroup('SIGINT');

    const results = await answers;
    expect(results.map((result) => result.status)).toEqual(Array(30).fill(200));
    const exit = await app.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    // SHUTDOWN_TIMEOUT_MS (15 s by default) is the bound after which the app would exit anyway, with code 1.
    expect(exit.at - signalledAt).toBeLessThan(15_000);
    const shutdown = app.logLines().filter((line) => line.context === 'Shutdown');
    expect(shutdown[0].msg).toBe('SIGINT: shutting down; 30 requests in flight');
    expect(shutdown[shutdown.length - 1].msg).toMatch(/^stopped in \d+ ms$/);
    // Postgres was stopped by the app, cleanly: it removes its pid file only on a clean shutdown.
    expect(postmasterPid(dataDir)).toBeUndefined();

    expect(await storedRows(dataDir, Number(env.SWITCHYARD_EMBEDDED_PG_PORT))).toBe(30);
  }, 180_000);

  it('cuts a stream still running at the shutdown deadline and exits cleanly, not after it with 1', async () => {
    const dataDir = await tempDir('long-stream');
    const catalog = await writeTestCatalog((c) => {
      // A 30 s stream: far longer than the shutdown allows.
      Object.assign(c.simulator.profiles['gpt-4.1'], { completionTokens: 3000, tokensPerSecond: 100 });
    });
    const env = { ...(await settings(dataDir)), SWITCHYARD_CATALOG: catalog.path, SHUTDOWN_TIMEOUT_MS: '4000' };
    const app = start(env);
    await app.ready();
    const stream = fetch(`http://127.0.0.1:${env.PORT}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.SWITCHYARD_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    }).then((response) => response.text().catch(() => 'cut'));
    await eventually(
      async () => {
        const stats = await fetch(`http://127.0.0.1:${catalog.simulatorPort}/_simulator/stats`);
        return ((await stats.json()) as { total: number }).total === 1;
      },
      20_000,
      'the stream at the simulator',
    );
    app.signalGroup('SIGTERM');
    const exit = await app.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    await stream;
    const shutdown = app.logLines().filter((line) => line.context === 'Shutdown');
    expect(shutdown.map((line) => line.msg)).toContainEqual('cut 1 requests still running at the shutdown deadline');
    expect(shutdown[shutdown.length - 1].msg).toMatch(/^stopped in \d+ ms$/);
    expect(postmasterPid(dataDir)).toBeUndefined();
  }, 120_000);

  it('reloads its catalog on SIGHUP and keeps running, where Node would have exited', async () => {
    const dataDir = await tempDir('sighup');
    const catalog = await writeTestCatalog();
    const env = { ...(await settings(dataDir)), SWITCHYARD_CATALOG: catalog.path };
    const app = start(env);
    await app.ready();
    const models = async () => {
      const response = await fetch(`http://127.0.0.1:${env.PORT}/v1/models`, {
        headers: { authorization: `Bearer ${env.SWITCHYARD_ADMIN_KEY}` },
      });
      return ((await response.json()) as { data: Array<{ id: string }> }).data.map((model) => model.id);
    };
    expect(await models()).not.toContain('route:search');
    const edited = JSON.parse(readFileSync(catalog.path, 'utf8')) as { policies: unknown[] };
    edited.policies.push({
      name: 'search',
      strategy: 'latency_first',
      flag: 'search-model',
      defaultModel: 'gemini-2.5-flash',
      fallback: [],
    });
    await writeFile(catalog.path, JSON.stringify(edited));

    // A terminal that hangs up sends SIGHUP to the foreground process group.
    app.signalGroup('SIGHUP');
    await eventually(async () => (await models()).includes('route:search'), 10_000, 'route:search after SIGHUP');
    // The line travels through the app's stdout pipe: it may arrive after the answer that shows the change.
    const applied = await eventually(
      () => app.logLines().find((line) => line.msg === 'catalog reload applied'),
      10_000,
      'the reload log line',
    );
    expect(applied).toMatchObject({
      actor: 'signal:SIGHUP',
      changes: [{ section: 'policies', id: 'search', change: 'added' }],
    });
    expect(app.process.exitCode).toBeNull();
  }, 120_000);

  it("counts a prompt's tokens in its worker thread from dist/, run from another folder with npm start's flags", async () => {
    const dataDir = await tempDir('tokenizer');
    const elsewhere = await tempDir('elsewhere');
    const catalog = await writeTestCatalog((c) => {
      c.models.push({ ...c.models[0], id: 'small-window', upstreamModel: 'gpt-4.1', contextWindow: 1000, tier: 1 });
    });
    const env = { ...(await settings(dataDir)), SWITCHYARD_CATALOG: catalog.path };
    const nodeFlags = npmStartNodeFlags();
    expect(nodeFlags).toContain('--max-old-space-size=1024');
    const app = new BuiltApp(env, { cwd: elsewhere, nodeFlags });
    running.push(app);
    await app.ready();
    const tooLong = 'the train rolled on through the night '.repeat(200);
    const response = await fetch(`http://127.0.0.1:${env.PORT}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.SWITCHYARD_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'small-window', messages: [{ role: 'user', content: tooLong }] }),
    });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('context_length_exceeded');
    expect(error.message).toContain(`prompt is about ${countTokens(tooLong) + 6} tokens`);
    // The worker, still running, neither delays nor prevents a clean exit.
    const signalledAt = Date.now();
    app.signalGroup('SIGINT');
    const exit = await app.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(15_000);
    // No warning of a tokenizer that failed to load or died.
    expect(app.logLines().filter((line) => line.context === 'ContextGuard')).toEqual([]);
  }, 120_000);

  it('counts and logs the rows and the budget spend it could not write when Postgres hangs, and exits at SHUTDOWN_TIMEOUT_MS', async () => {
    const dataDir = await tempDir('hung-postgres');
    // The rows stay queued until the final flush: the flush interval is longer than the test.
    const env = {
      ...(await settings(dataDir)),
      SHUTDOWN_TIMEOUT_MS: '6000',
      METRICS_FLUSH_INTERVAL_MS: '60000',
      BUDGET_SYNC_MS: '10000',
    };
    const app = start(env);
    await app.ready();
    const headers = { authorization: `Bearer ${env.SWITCHYARD_ADMIN_KEY}`, 'content-type': 'application/json' };
    const budget = await fetch(`http://127.0.0.1:${env.PORT}/api/budgets`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ scope: 'policy', target: 'fraud', limitUsd: 1, period: 'day', onExhausted: 'reject' }),
    });
    expect(budget.status).toBe(201);
    const budgetId = ((await budget.json()) as { id: string }).id;
    const complete = async () => {
      const answer = await fetch(`http://127.0.0.1:${env.PORT}/v1/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: 'route:fraud', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(answer.status).toBe(200);
    };
    // The first request tops the budget's lease up; the next two spend from it with Postgres stopped.
    await complete();
    const postmaster = postmasterPid(dataDir)!;
    const paused = PausedPostgres.pause(postmaster);
    try {
      await complete();
      await complete();
      const signalledAt = Date.now();
      app.signalGroup('SIGINT');
      const exit = await app.exited;
      // Closing the LISTEN connections waits on the hung server: the process bound ends it.
      expect(exit.code).toBe(1);
      expect(exit.at - signalledAt).toBeLessThan(6_000 + 2_000);
      const lines = app.logLines();
      // Before that, once the shared deadline came (SHUTDOWN_TIMEOUT_MS less 2 s), each writer
      // counted what it held, though its own final flush never got to run.
      const metrics = lines.find((line) => line.context === 'MetricsWriter' && line.level === 50);
      expect(metrics?.msg).toBe(
        'shutting down with 3 metric rows unwritten (the shutdown deadline came before they could be written); counted as dropped; ' +
          `kept in ${spoolFiles(dataDir)[0]} for the next start on this folder to write`,
      );
      expect(spooledRows(dataDir)).toHaveLength(3);
      // And the budget's spend that could not be settled, with its amount.
      const spend = lines.find((line) => line.context === 'BudgetLeases' && line.level === 50);
      expect(spend?.msg).toMatch(
        new RegExp(
          `^shutting down with \\$0\\.\\d*[1-9] spent under policy budget "fraud" \\(day, \\$1\\.00; id ${budgetId}\\) not settled in the shared ledger \\(the shutdown deadline came before Postgres answered\\): the budget does not count it$`,
        ),
      );
      expect(lines[lines.length - 1]).toMatchObject({
        context: 'Shutdown',
        msg: 'still not stopped after SHUTDOWN_TIMEOUT_MS (6000 ms); exiting anyway',
      });
    } finally {
      paused.resume();
    }
    // The app asked its Postgres to stop as it exited; it does once it runs again, with no row of these.
    await eventually(() => !alive(postmaster), 30_000, 'the embedded Postgres to stop');
    expect(await storedRows(dataDir, Number(env.SWITCHYARD_EMBEDDED_PG_PORT))).toBe(0);
  }, 120_000);

  it('keeps on disk the metric rows a hung Postgres does not take, and after kill -9 the next start writes them', async () => {
    const dataDir = await tempDir('spool');
    const env = { ...(await settings(dataDir)), METRICS_FLUSH_INTERVAL_MS: '50' };
    const first = start(env);
    await first.ready();
    const paused = PausedPostgres.pause(postmasterPid(dataDir)!);
    const ids: string[] = [];
    try {
      for (let request = 0; request < 3; request++) {
        const answer = await fetch(`http://127.0.0.1:${env.PORT}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${env.SWITCHYARD_ADMIN_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'route:chat', messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(answer.status).toBe(200);
        ids.push(answer.headers.get('x-switchyard-request-id')!);
      }
      // Its INSERT unanswered for a second, the writer puts the rows on disk; then the process is killed.
      await eventually(() => spooledRows(dataDir).length === 3, 15_000, 'the three rows on disk');
      first.signalGroup('SIGKILL');
      await first.exited;
    } finally {
      paused.resume();
    }
    // Stored by the row's id: the stored form keeps it, and the user's id only as its key.
    expect(spooledRows(dataDir).map((row) => row[2])).toEqual(ids);
    // A file a gone process left for another database (the folder once served another): left, and said so.
    const foreign = join(dataDir, 'spool', `metrics-${first.process.pid}-foreign.ndjson`);
    const foreignHeader = { spool: 1, writer: 'metrics', database: '10.0.0.9:5432/elsewhere', pid: first.process.pid };
    await writeFile(foreign, `${JSON.stringify(foreignHeader)}\n["r"]\n`);

    const second = start(env);
    await second.ready();
    const password = readFileSync(join(dataDir, 'postgres-password'), 'utf8').trim();
    const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${env.SWITCHYARD_EMBEDDED_PG_PORT}/switchyard`;
    const stored = await eventually(
      async () => {
        const rows = await queryRows<{ request_id: string }>(
          url,
          'SELECT request_id FROM request_metrics WHERE request_id = ANY($1)',
          [ids],
        );
        return rows.length === 3 && rows;
      },
      20_000,
      'the kept rows in Postgres',
    );
    expect(stored.map((row) => row.request_id).sort()).toEqual([...ids].sort());
    // Then the file is removed and the replay logged (the line comes through the app's stdout pipe).
    const replayed = new RegExp(`^wrote 3 metric rows that process ${first.process.pid} left unwritten in `);
    await eventually(
      () => second.logLines().some((line) => replayed.test(String(line.msg))),
      10_000,
      'the replay logged',
    );
    const leftAlone = `left ${foreign} alone: its rows are for the database 10.0.0.9:5432/elsewhere, not 127.0.0.1:${env.SWITCHYARD_EMBEDDED_PG_PORT}/switchyard`;
    await eventually(
      () => second.logLines().some((line) => String(line.msg).startsWith(leftAlone)),
      10_000,
      'the foreign file named',
    );
    expect(spoolFiles(dataDir)).toEqual([foreign]);
  }, 120_000);

  it('starts again after being killed with -9, stopping the Postgres the killed app left behind', async () => {
    const dataDir = await tempDir('kill-9');
    const env = await settings(dataDir);
    const first = start(env);
    await first.ready();
    const orphan = postmasterPid(dataDir)!;
    first.signalGroup('SIGKILL');
    await first.exited;
    // Its own process group: the SIGKILL to the app's group did not reach it.
    expect(alive(orphan)).toBe(true);

    const second = start(env);
    await second.ready();
    expect(alive(orphan)).toBe(false);
    const fresh = postmasterPid(dataDir)!;
    expect(fresh).not.toBe(orphan);
    second.signalGroup('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(alive(fresh)).toBe(false);
  }, 120_000);

  describe('a start-up that cannot work fails with one line that says why and what to do', () => {
    let holder: Server;
    let busyPort: number;

    beforeAll(async () => {
      busyPort = await freePort();
      holder = createServer();
      await new Promise<void>((resolve) => holder.listen(busyPort, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      await new Promise((resolve) => holder.close(resolve));
    });

    async function failedStart(env: Record<string, string | undefined>): Promise<string> {
      const app = start(env);
      const exit = await app.exited;
      expect(exit.code).toBe(1);
      expect(app.stdout).toBe('');
      const lines = app.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toContain('EADDRINUSE');
      return lines[0];
    }

    it.each([
      ['PORT', 'the gateway'],
      ['SIMULATOR_PORT', 'the simulated provider'],
      ['SWITCHYARD_EMBEDDED_PG_PORT', 'the embedded Postgres'],
    ])('names %s when its port is taken', async (variable, what) => {
      const env = { ...(await settings(await tempDir('busy-port'))), [variable]: String(busyPort) };
      expect(await failedStart(env)).toBe(
        `Switchyard failed to start: ${variable} ${busyPort} (${what}) is already in use on 127.0.0.1 ` +
          `(another Switchyard still running?); stop what holds it, or set ${variable} to a free port` +
          (variable === 'SWITCHYARD_EMBEDDED_PG_PORT' ? ', or set DATABASE_URL to use another Postgres server' : ''),
      );
    });

    it('says where when DATABASE_URL points at a Postgres it cannot reach, and how to fix it', async () => {
      const nothing = await freePort();
      const env = {
        ...(await settings(await tempDir('no-database'))),
        DATABASE_URL: `postgres://app:secret-password@127.0.0.1:${nothing}/switchyard`,
      };
      const line = await failedStart(env);
      expect(line).toBe(
        `Switchyard failed to start: cannot reach the database at 127.0.0.1:${nothing} ` +
          `(connect ECONNREFUSED 127.0.0.1:${nothing}): start Postgres there, or correct DATABASE_URL ` +
          '(unset, Switchyard starts a Postgres of its own)',
      );
      expect(line).not.toContain('secret-password');
    }, 120_000);

    it.each([
      [
        'a user it does not know',
        { username: 'switchyard_no_such_role', database: 'postgres' },
        // Which of the two depends on the server's authentication (trust, or a password it checks).
        /\((role "switchyard_no_such_role" does not exist|password authentication failed for user "switchyard_no_such_role")\)/,
        'correct the user name or password in DATABASE_URL, or let that user log in from this host (CREATE ROLE … LOGIN; pg_hba.conf)',
      ],
      [
        'a database it does not have',
        { username: 'postgres', database: 'switchyard_no_such_database' },
        /\(database "switchyard_no_such_database" does not exist\)/,
        'create that database there (CREATE DATABASE), or correct the database name in DATABASE_URL',
      ],
    ])('names DATABASE_URL at once when the server refuses %s', async (_case, { username, database }, reason, fix) => {
      const admin = new URL(process.env.TEST_ADMIN_DATABASE_URL!);
      const target = new URL(admin);
      target.username = username;
      // The server's own password where it checks one, so that only the user or the database is wrong.
      target.password = username === admin.username && admin.password ? admin.password : 'secret-password';
      target.pathname = `/${database}`;
      // In front of the server, to count the app's tries.
      const { relay, url } = await PostgresRelay.start(target.toString());
      try {
        const line = await failedStart({ ...(await settings(await tempDir('refused'))), DATABASE_URL: url });
        const prefix = `Switchyard failed to start: the database server at ${new URL(url).host} refused DATABASE_URL (`;
        expect(line.startsWith(prefix)).toBe(true);
        expect(line).toMatch(reason);
        expect(line.endsWith(`): ${fix}`)).toBe(true);
        expect(line).not.toContain(target.password);
        // Not tried again like a server that is not up yet: it would answer the same.
        expect(relay.startupParameters).toHaveLength(1);
      } finally {
        await relay.close();
      }
    });

    it.each([
      ['when a part of its path is a file', async (file: string) => join(file, 'data'), 'created', undefined],
      ['when it is a file', async (file: string) => file, 'created', undefined],
      // Node's recursive mkdir spins forever in /proc (mkdir answers ENOENT under a parent that exists):
      // refused before it is called, as any folder on a pseudo file system of the kernel is.
      [
        'on /proc, where making it would never end',
        async () => '/proc/switchyard-data/deeper',
        'created',
        ': /proc is on proc, a pseudo file system of the kernel, not a disk;',
      ],
      [
        'under /sys',
        async () => '/sys/kernel/switchyard-data',
        'created',
        ': /sys/kernel is on sysfs, a pseudo file system of the kernel, not a disk;',
      ],
      [
        'when it exists on /sys',
        async () => '/sys/kernel',
        'written',
        ': /sys/kernel is on sysfs, a pseudo file system of the kernel, not a disk;',
      ],
    ])('names SWITCHYARD_DATA_DIR %s', async (_case, folder, verb, reason) => {
      const file = join(await tempDir('data-dir'), 'not-a-folder');
      await writeFile(file, 'a file');
      const dataDir = await folder(file);
      const line = await failedStart(await settings(dataDir));
      expect(
        line.startsWith(
          `Switchyard failed to start: SWITCHYARD_DATA_DIR ${dataDir} (the embedded Postgres' data folder) cannot be ${verb}: `,
        ),
      ).toBe(true);
      expect(line).toMatch(reason ?? `: ${file} is a file, not a folder;`);
      expect(
        line.endsWith(
          '; set SWITCHYARD_DATA_DIR to a folder this user may create and write in, or set DATABASE_URL to use another Postgres server',
        ),
      ).toBe(true);
    });

    it.each([
      ['it cannot be resolved', 'no-such-host.invalid', /cannot be resolved \((ENOTFOUND|EAI_AGAIN)\)/],
      // TEST-NET-1 (RFC 5737): never an address of this machine.
      ['it is not an address of this machine', '192.0.2.1', /is not an address of this machine \(EADDRNOTAVAIL\)/],
    ])('names HOST when %s', async (_case, host, reason) => {
      const line = await failedStart({ ...(await settings(await tempDir('bad-host'))), HOST: host });
      expect(line.startsWith(`Switchyard failed to start: HOST ${host} (the gateway) `)).toBe(true);
      expect(line).toMatch(reason);
      expect(
        line.endsWith(
          '; set HOST to an address of this machine, e.g. 0.0.0.0 (every interface) or 127.0.0.1 (this machine only)',
        ),
      ).toBe(true);
    });

    it('says which folder to open when, as root, Postgres could not enter the data folder (mktemp -d: mode 0700)', async () => {
      const closed = await tempDir('mktemp');
      await chmod(closed, 0o700);
      const dataDir = join(closed, 'data');
      await mkdir(dataDir);
      const env = await settings(dataDir);
      if (userInfo().uid !== 0) {
        // Not root: Postgres runs as this user, who can enter the folder; it simply works.
        const app = start(env);
        await app.ready();
        return;
      }
      expect(await failedStart(env)).toBe(
        'Switchyard failed to start: Switchyard runs as root, so its embedded Postgres runs as the "postgres" user, ' +
          `which cannot enter ${closed} (mode 0700) on the way to the data folder ${dataDir}: chmod o+x ${closed}, ` +
          'or set SWITCHYARD_DATA_DIR to a folder it can enter (e.g. /var/lib/switchyard), or run Switchyard as a ' +
          'non-root user, or set DATABASE_URL to a Postgres server',
      );
    });
  });
});

import request from 'supertest';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { freePort } from './support/free-port';
import { tempDir } from './support/temp-dir';
import { createTestDatabase } from './support/test-database';
import { api, startTestApp, type TestApp, writeTestCatalog } from './support/test-app';
import { eventually } from './support/webhook-server';

const hello = [{ role: 'user', content: 'hi' }];

function completion(app: TestApp) {
  return api(app).post('/v1/chat/completions').send({ model: 'deepseek-v3.2', messages: hello });
}

function ready(app: TestApp) {
  return request(app.url).get('/health/ready');
}

describe('readiness: this replica can serve', () => {
  it('is degraded, not unready, naming a provider whose /models does not answer while another provider does', async () => {
    const database = await createTestDatabase();
    const closedPort = await freePort();
    const catalog = await writeTestCatalog((c) => {
      c.providers.push({
        id: 'offline',
        baseUrl: `http://127.0.0.1:${closedPort}/v1`,
        apiKeyEnv: 'OFFLINE_API_KEY',
        backupApiKeyEnv: 'OFFLINE_API_KEY_BACKUP',
        timeoutMs: 1000,
      });
    });
    const gateway = await startTestApp({
      databaseUrl: database.url,
      catalog,
      env: { OFFLINE_API_KEY: 'sk-offline-secret-value' },
    });
    try {
      const response = await ready(gateway).expect(200);
      expect(response.body.status).toBe('degraded');
      expect(response.body.details['provider:offline']).toEqual({
        status: 'degraded',
        message: 'GET /models failed: ECONNREFUSED',
        servable: "yes: other providers answer; this provider's models fail over to their fallbacks",
      });
      expect(response.body.info).toMatchObject({ database: { status: 'up' }, 'provider:simulated': { status: 'up' } });
      expect(JSON.stringify(response.body)).not.toContain('sk-offline-secret-value');
      expect((await request(gateway.url).get('/health/live').expect(200)).body.status).toBe('ok');
    } finally {
      await gateway.close();
      await database.drop();
    }
  });

  it('is ready through the backup key when the primary is revoked, and says so; unready when both are', async () => {
    const database = await createTestDatabase();
    const gateway = await startTestApp({
      databaseUrl: database.url,
      env: { SIMULATED_API_KEY: 'sk-health-primary-0001', SIMULATED_API_KEY_BACKUP: 'sk-health-backup-0002' },
    });
    const revoke = (labels: string[]) =>
      request(gateway.simulatorUrl).put('/_simulator/keys').send({ revoked: labels }).expect(200);
    try {
      await revoke(['primary']);
      const response = await ready(gateway).expect(200);
      expect(response.body.status).toBe('ok');
      expect(response.body.details['provider:simulated']).toEqual({
        status: 'up',
        key: 'backup',
        message: 'the primary key is refused (GET /models answered 401); requests go through the backup key',
      });
      await completion(gateway).expect(200);

      await revoke(['primary', 'backup']);
      const down = await ready(gateway).expect(503);
      expect(down.body.error['provider:simulated']).toEqual({
        status: 'down',
        message: 'primary key: GET /models answered 401; backup key: GET /models answered 401',
      });
      expect(JSON.stringify(down.body)).not.toMatch(/sk-health-/);
      await request(gateway.url).get('/health/live').expect(200);
    } finally {
      await gateway.close();
      await database.drop();
    }
  });

  it('reports a stopped database as degraded while the gateway serves from memory, unready once the metrics queue nears its bound', async () => {
    const server = new EmbeddedPostgresServer({ dataDir: await tempDir('health'), port: await freePort() });
    const gateway = await startTestApp({
      databaseUrl: await server.start(),
      // Rows wait in the queue while the database is down; 9 of 10 is "near the bound" (90%).
      env: { METRICS_QUEUE_LIMIT: '10', METRICS_FLUSH_INTERVAL_MS: '20', SHUTDOWN_TIMEOUT_MS: '3000' },
    });
    const queued = async () => (await ready(gateway)).body.details.metrics.queued as number;
    try {
      await ready(gateway).expect(200);
      await server.stop();

      for (let i = 0; i < 8; i++) await completion(gateway).expect(200);
      await eventually(async () => (await queued()) === 8, 5000, '8 queued metric rows');
      const degraded = await ready(gateway).expect(200);
      expect(degraded.body.status).toBe('degraded');
      expect(degraded.body.details.database).toMatchObject({
        status: 'degraded',
        // /health is public: the driver's error keeps its cause but not where the database lives.
        message: 'connect ECONNREFUSED <address>',
        metricsQueue: { queued: 8, limit: 10 },
      });
      expect(degraded.body.details.database.servable).toMatch(/^yes: /);
      expect(JSON.stringify(degraded.body)).not.toMatch(/127\.0\.0\.1/);
      expect(degraded.body.info['provider:simulated'].status).toBe('up');
      // The rows' writer says its writes fail, and that the rows are kept on disk: not `up`.
      const spooling = await eventually(async () => {
        const { metrics } = (await ready(gateway).expect(200)).body.details;
        return metrics.message === 'writes failing; 8 rows spooled' && metrics;
      });
      expect(spooling).toMatchObject({ status: 'degraded', queued: 8, dropped: 0 });

      await completion(gateway).expect(200);
      await eventually(async () => (await queued()) === 9, 5000, '9 queued metric rows');
      const unready = await ready(gateway).expect(503);
      expect(unready.body.error.database).toMatchObject({ status: 'down', metricsQueue: { queued: 9, limit: 10 } });
      expect(unready.body.error.database.servable).toBe(
        'no: the metrics queue is at 90% of METRICS_QUEUE_LIMIT; further rows would be dropped',
      );
      // Rows beyond the queue's bound are dropped: the writer's entry is down too, and counts them.
      for (let i = 0; i < 2; i++) await completion(gateway).expect(200);
      const dropping = await eventually(async () => {
        const { error } = (await ready(gateway).expect(503)).body;
        return error.metrics?.message === 'writes failing; 10 rows spooled, 1 dropped so far' && error.metrics;
      });
      expect(dropping).toMatchObject({ status: 'down', queued: 10, dropped: 1 });
      await request(gateway.url).get('/health/live').expect(200);

      // Back: the rows are written and the entry is up again.
      await server.start();
      const recovered = await eventually(
        async () => {
          const response = await ready(gateway);
          return response.status === 200 && response.body.details.metrics.status === 'up' && response.body;
        },
        20_000,
        'ready again',
      );
      expect(recovered.details.metrics).toMatchObject({ queued: 0, written: expect.any(Number), dropped: 1 });
    } finally {
      await gateway.close();
      await server.stop();
    }
  });
});

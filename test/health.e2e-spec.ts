import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { freePort } from './support/free-port';
import { createTestDatabase } from './support/test-database';
import { startTestApp, writeTestCatalog } from './support/test-app';

async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-health-'));
  await chmod(dir, 0o755);
  return dir;
}

describe('readiness names the dependency that is down', () => {
  it('answers 503 naming a provider whose /models does not answer', async () => {
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
      const response = await request(gateway.url).get('/health/ready').expect(503);
      expect(response.body.status).toBe('error');
      expect(response.body.error['provider:offline']).toEqual({
        status: 'down',
        message: 'GET /models failed: ECONNREFUSED',
      });
      expect(response.body.info).toMatchObject({ database: { status: 'up' }, 'provider:simulated': { status: 'up' } });
      expect(JSON.stringify(response.body)).not.toContain('sk-offline-secret-value');
    } finally {
      await gateway.close();
      await database.drop();
    }
  });

  it('answers 503 naming the database once its server has stopped, and 200 while it runs', async () => {
    const server = new EmbeddedPostgresServer({ dataDir: await tempDataDir(), port: await freePort() });
    const gateway = await startTestApp({ databaseUrl: await server.start() });
    try {
      await request(gateway.url).get('/health/ready').expect(200);
      await server.stop();
      const response = await request(gateway.url).get('/health/ready').expect(503);
      expect(response.body.error.database.status).toBe('down');
      // /health is public: the driver's error keeps its cause but not where the database lives.
      expect(response.body.error.database.message).toBe('connect ECONNREFUSED <address>');
      expect(JSON.stringify(response.body)).not.toMatch(/127\.0\.0\.1/);
      expect(response.body.info['provider:simulated'].status).toBe('up');
    } finally {
      await gateway.close();
      await server.stop();
    }
  });
});

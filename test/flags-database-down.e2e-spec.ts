import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { freePort } from './support/free-port';
import { api, startTestApp } from './support/test-app';

describe('flags keep routing traffic while the database is down', () => {
  it('evaluates and routes with the last known flags after the database server stops', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-flags-down-'));
    await chmod(dataDir, 0o755);
    const server = new EmbeddedPostgresServer({ dataDir, port: await freePort() });
    // Closing with the database still down: the metrics writer tries to flush its rows for a second, not 13.
    const gateway = await startTestApp({ databaseUrl: await server.start(), env: { SHUTDOWN_TIMEOUT_MS: '3000' } });
    try {
      await api(gateway)
        .post('/api/flags')
        .send({
          key: 'chat-model',
          variants: { control: 'gemini-2.5-flash', treatment: 'deepseek-v3.2' },
          defaultVariant: 'control',
          rollout: { treatment: 100 },
          rules: [],
        })
        .expect(201);

      await server.stop();
      // The replica still serves (flags from memory, rows queued): degraded, not unready.
      const readiness = await request(gateway.url).get('/health/ready').expect(200);
      expect(readiness.body.details.database.status).toBe('degraded');

      const evaluation = await api(gateway)
        .post('/api/flags/chat-model/evaluate')
        .send({ userId: 'user-7' })
        .expect(200);
      expect(evaluation.body).toMatchObject({ variant: 'treatment', model: 'deepseek-v3.2', reason: 'rollout' });
      const completion = await api(gateway)
        .post('/v1/chat/completions')
        .set('x-user-id', 'user-7')
        .send({ model: 'route:chat', messages: [{ role: 'user', content: 'hi' }] })
        .expect(200);
      expect(completion.headers['x-switchyard-model']).toBe('deepseek-v3.2');
    } finally {
      await gateway.close();
      await server.stop();
    }
  });
});

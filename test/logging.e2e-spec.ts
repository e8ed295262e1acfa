import request from 'supertest';
import { createTestDatabase } from './support/test-database';
import { StdoutCapture } from './support/stdout-capture';
import { api, startTestApp, type TestApp } from './support/test-app';

describe('logs are JSON lines with request ids and no secrets', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;
  let stdout: StdoutCapture;

  beforeAll(async () => {
    database = await createTestDatabase();
    stdout = StdoutCapture.start();
    gateway = await startTestApp({
      databaseUrl: database.url,
      env: {
        LOG_LEVEL: 'info',
        SIMULATED_API_KEY: 'sk-provider-secret-0001',
        SIMULATED_API_KEY_BACKUP: 'sk-provider-secret-0002',
        // An unbuilt control room: /ui answers 503.
        UI_DIR: '/nonexistent/switchyard-ui',
      },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    stdout?.stop();
    await database?.drop();
  });

  it('logs each request with its id, and never the Authorization header or provider keys', async () => {
    const response = await request(gateway.url)
      .get('/api/whatever')
      .set('authorization', 'Bearer sk-caller-secret-0003')
      .set('x-api-key', 'sk-caller-secret-0004')
      .expect(404);
    await request(gateway.url).get('/health/ready').expect(200);
    // Authenticated and refused requests on both kinds of route, the raw completions path included.
    await api(gateway).get('/api/flags').expect(200);
    await api(gateway)
      .post('/v1/chat/completions')
      .send({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] })
      .expect(200);
    await request(gateway.url)
      .post('/v1/chat/completions')
      .set('authorization', 'Bearer sk-caller-secret-0005')
      .send({})
      .expect(401);
    await request(gateway.url).get('/api/flags').set('authorization', 'Bearer sk-caller-secret-0006').expect(401);
    const requestId = response.headers['x-switchyard-request-id'];

    const records = stdout.jsonLines();
    const requestLine = records.find((record) => (record.req as { id?: string } | undefined)?.id === requestId);
    expect(requestLine).toMatchObject({ req: { method: 'GET', url: '/api/whatever' }, res: { statusCode: 404 } });

    const everything = stdout.text();
    const secrets = [
      'sk-caller-secret-0003',
      'sk-caller-secret-0004',
      'sk-caller-secret-0005',
      'sk-caller-secret-0006',
    ];
    for (const secret of [...secrets, 'sk-provider-secret-0001', 'sk-provider-secret-0002', gateway.adminKey!]) {
      expect(everything).not.toContain(secret);
    }
  });

  it("logs a 5xx answer at error level with its status, without a made-up error's stack", async () => {
    const response = await request(gateway.url).get('/ui/').expect(503);
    const id = response.headers['x-switchyard-request-id'];
    const line = stdout.jsonLines().find((record) => (record.req as { id?: string } | undefined)?.id === id);
    expect(line).toMatchObject({ level: 50, req: { method: 'GET', url: '/ui/' }, res: { statusCode: 503 } });
    expect(line).not.toHaveProperty('err');
  });
});

import { api, startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';

const CONVERSION = {
  key: 'checkout_converted',
  description: 'Bought what was recommended',
  type: 'binary',
  direction: 'higher_is_better',
  unit: 'user',
  attributionWindowSeconds: 86_400,
};

describe('outcome metric definitions: /api/outcome-metrics', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let readKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ databaseUrl: database.url });
    readKey = (
      await api(app)
        .post('/api/keys')
        .send({ name: 'dashboards', scopes: ['read'] })
        .expect(201)
    ).body.key;
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('lists the built-in answer-quality signals as read-only metrics', async () => {
    // Before any metric is defined: the built-ins alone (defined ones are listed before them).
    const listed = (await api(app, readKey).get('/api/outcome-metrics').expect(200)).body;
    expect(listed.map((metric: { key: string }) => metric.key)).toEqual([
      'empty_answer',
      'truncated',
      'invalid_json',
      'json_schema_violation',
      'malformed_tool_call',
      'refusal',
    ]);
    expect(listed[0]).toMatchObject({
      type: 'binary',
      direction: 'lower_is_better',
      unit: 'request',
      builtIn: true,
      attributionWindowSeconds: null,
    });
    const refused = await api(app).patch('/api/outcome-metrics/empty_answer').send({ version: 0 }).expect(400);
    expect(refused.body.message).toMatch(/version must be/);
    const builtIn = await api(app).patch('/api/outcome-metrics/empty_answer').send({ version: 1 }).expect(409);
    expect(builtIn.body.message).toMatch(/built-in answer-quality signal/);
    await api(app).delete('/api/outcome-metrics/refusal').expect(409);
    await api(app)
      .post('/api/outcome-metrics')
      .send({ ...CONVERSION, key: 'empty_answer' })
      .expect(409);
  });

  it('creates, reads, changes and archives a metric, each change in its history; admin to change, read to list', async () => {
    await api(app, readKey).post('/api/outcome-metrics').send(CONVERSION).expect(403);
    const created = (await api(app).post('/api/outcome-metrics').send(CONVERSION).expect(201)).body;
    expect(created).toMatchObject({ ...CONVERSION, builtIn: false, version: 1, archived: false });
    expect((await api(app, readKey).get('/api/outcome-metrics/checkout_converted').expect(200)).body).toEqual(created);
    await api(app).post('/api/outcome-metrics').send(CONVERSION).expect(409);

    const changed = await api(app)
      .patch('/api/outcome-metrics/checkout_converted')
      .send({ version: 1, attributionWindowSeconds: 172_800, reason: 'late conversions' })
      .expect(200);
    expect(changed.body).toMatchObject({ version: 2, attributionWindowSeconds: 172_800 });
    const stale = await api(app).patch('/api/outcome-metrics/checkout_converted').send({ version: 1 }).expect(409);
    expect(stale.body.message).toMatch(/at version 2, not 1/);
    const fixed = await api(app)
      .patch('/api/outcome-metrics/checkout_converted')
      .send({ version: 2, unit: 'request' })
      .expect(400);
    expect(fixed.body.message).toMatch(/^unit is fixed at creation \(user\)/);

    const archived = (await api(app).delete('/api/outcome-metrics/checkout_converted').expect(200)).body;
    expect(archived).toMatchObject({ archived: true, version: 3 });
    await api(app).patch('/api/outcome-metrics/checkout_converted').send({ version: 3 }).expect(409);
    const reused = await api(app).post('/api/outcome-metrics').send(CONVERSION).expect(409);
    expect(reused.body.message).toMatch(/archived: keys are never reused/);

    const history = (await api(app, readKey).get('/api/outcome-metrics/checkout_converted/history').expect(200)).body;
    expect(history.items.map((entry: { action: string }) => entry.action)).toEqual(['archived', 'updated', 'created']);
    expect(history.items[1]).toMatchObject({
      reason: 'late conversions',
      before: { attributionWindowSeconds: 86_400 },
      after: { attributionWindowSeconds: 172_800 },
    });
    const [row] = await queryRows(database.url, `SELECT archived_at IS NOT NULL AS archived FROM outcome_metrics`);
    expect(row).toEqual({ archived: true });
    await expect(queryRows(database.url, 'DELETE FROM outcome_metric_history')).rejects.toThrow(/append-only/);
  });

  it('names each bad field, and 404s an unknown key', async () => {
    const bad = await api(app)
      .post('/api/outcome-metrics')
      .send({
        key: 'Checkout Converted',
        type: 'boolean',
        direction: 'up',
        unit: 'session',
        attributionWindowSeconds: 0,
      })
      .expect(400);
    const text = JSON.stringify(bad.body);
    for (const field of [
      'key must be',
      'type must be one of',
      'direction must be one of',
      'unit must be one of',
      'attributionWindowSeconds must be',
    ])
      expect(text).toContain(field);
    await api(app).get('/api/outcome-metrics/nope').expect(404);

    // Left out, no reason is recorded; a blank one would be recorded as an empty reason.
    const blank = 'reason must not be blank; leave it out for none';
    const key = 'reasoned_metric';
    const created = await api(app)
      .post('/api/outcome-metrics')
      .send({ ...CONVERSION, key, reason: ' ' })
      .expect(400);
    expect(created.body).toMatchObject({ code: 'validation_failed', message: blank });
    await api(app)
      .post('/api/outcome-metrics')
      .send({ ...CONVERSION, key })
      .expect(201);
    const changed = await api(app).patch(`/api/outcome-metrics/${key}`).send({ version: 1, reason: '' }).expect(400);
    expect(changed.body.message).toBe(blank);
    const archived = await api(app).delete(`/api/outcome-metrics/${key}`).send({ reason: '\n' }).expect(400);
    expect(archived.body.message).toBe(blank);
    const history = (await api(app).get(`/api/outcome-metrics/${key}/history`).expect(200)).body;
    expect(history.items).toHaveLength(1);
    await api(app).get('/api/outcome-metrics/nope/history').expect(404);
  });
});

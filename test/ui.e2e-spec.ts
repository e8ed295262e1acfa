import request from 'supertest';
import { ManualClock } from '../src/common/manual-clock';
import { api, bearer, policiesFor, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';
import { buildUi } from './support/ui-build';
import { eventually } from './support/webhook-server';

/*
 * The control room as the app serves it: the bare URL leads there, its files come with their
 * content types, cache rules and a strict CSP; GET /api/keys/me tells a signed-in page what its key
 * may do; and a canary paused and resumed by hand leaves its reason in the flag's history.
 * (What the page does in a browser: test/browser/, npm run test:browser.)
 */
describe('control room: served by the app, sign-in, reasons in flag history', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  const clock = new ManualClock();
  const keys: Record<'read' | 'gateway', string> = { read: '', gateway: '' };

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      databaseUrl: database.url,
      clock,
      catalog: await writeTestCatalog(policiesFor('ui-flag')),
      env: { UI_DIR: await buildUi(), CANARY_TICK_SECONDS: '10', METRICS_FLUSH_INTERVAL_MS: '20' },
    });
    for (const scope of ['read', 'gateway'] as const) {
      const created = await api(app)
        .post('/api/keys')
        .send({ name: `${scope}-key`, scopes: [scope] })
        .expect(201);
      keys[scope] = created.body.key;
    }
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('redirects / to /ui, and serves the page with a strict CSP, no-cache, and hashed assets cached for a year', async () => {
    const root = await request(app.url).get('/').expect(302);
    expect(root.headers.location).toBe('/ui');

    const page = await request(app.url).get('/ui').expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    const csp = page.headers['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.text).not.toMatch(/<script>|<script [^>]*>[^<]+<\/script>|style="/);
    const script = /\/ui\/assets\/app-[A-Z0-9]+\.js/.exec(page.text)?.[0] ?? 'no script in the page';
    const style = /\/ui\/assets\/style-[A-Z0-9]+\.css/.exec(page.text)?.[0] ?? 'no stylesheet in the page';

    const js = await request(app.url).get(script).expect(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-security-policy']).toBe(csp);
    const css = await request(app.url).get(style).expect(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    // uPlot's styles are bundled in: nothing is fetched from elsewhere at run time.
    expect(css.text).toContain('.uplot');
    expect(page.text + js.text + css.text).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z]/i);

    await request(app.url).get(script).set('if-none-match', js.headers.etag).expect(304);
    const missing = await request(app.url).get('/ui/assets/nope.js').expect(404);
    expect(missing.body).toMatchObject({
      code: 'ui_asset_not_found',
      message: 'the control room has no file "nope.js"',
    });
  });

  it('GET /api/keys/me names the key and its scopes for read and admin keys; a gateway key is refused', async () => {
    const read = await request(app.url).get('/api/keys/me').set('authorization', bearer(keys.read)).expect(200);
    expect(read.body).toMatchObject({ name: 'read-key', scopes: ['read'] });
    expect(read.body.actor).toBe(`key:${read.body.id} (read-key)`);
    expect(JSON.stringify(read.body)).not.toContain(keys.read);
    const admin = await api(app).get('/api/keys/me').expect(200);
    expect(admin.body.scopes).toContain('admin');
    await request(app.url).get('/api/keys/me').set('authorization', bearer(keys.gateway)).expect(403);
    await request(app.url).get('/api/keys/me').expect(401);
  });

  it('records a pause and a resume with their reasons in the flag history (the flag itself unchanged), and refuses them to a read key', async () => {
    await api(app)
      .post('/api/flags')
      .send({
        key: 'ui-flag',
        variants: { control: 'deepseek-v3.2', treatment: 'gemini-2.5-flash' },
        defaultVariant: 'control',
        rollout: {},
      })
      .expect(201);
    const created = await api(app).post('/api/canaries').send({ flagKey: 'ui-flag', variant: 'treatment' }).expect(201);
    const id = created.body.id;
    const asRead = (path: string) =>
      request(app.url).post(path).set('authorization', bearer(keys.read)).send({ reason: 'not mine to do' });
    for (const action of ['pause', 'resume', 'promote', 'rollback', 'abort']) {
      const refused = await asRead(`/api/canaries/${id}/${action}`).expect(403);
      expect(refused.body.message).toContain('admin');
    }
    const flagBefore = (await api(app).get('/api/flags/ui-flag').expect(200)).body;

    await api(app).post(`/api/canaries/${id}/pause`).send({ reason: 'latency spike on the provider' }).expect(200);
    await api(app).post(`/api/canaries/${id}/resume`).send({ reason: 'provider recovered' }).expect(200);

    const history = (await api(app).get('/api/flags/ui-flag/history').expect(200)).body.items;
    const [resumed, paused] = history;
    const me = (await api(app).get('/api/keys/me').expect(200)).body;
    expect(paused).toMatchObject({ action: 'note', source: 'canary', actor: me.actor, version: flagBefore.version });
    expect(paused.reason).toBe(`canary ${id} stage 1/5: pause by ${me.actor}: latency spike on the provider`);
    expect(paused.after).toEqual(paused.before);
    expect(resumed).toMatchObject({ action: 'note', source: 'canary', actor: me.actor });
    expect(resumed.reason).toContain('resumed by');
    expect(resumed.reason).toContain('provider recovered');
    const flagAfter = (await api(app).get('/api/flags/ui-flag').expect(200)).body;
    expect(flagAfter.version).toBe(flagBefore.version);
    expect(flagAfter.rollout).toEqual(flagBefore.rollout);
  });

  it('groups metrics by team key (the traffic page charts each team): GET /api/metrics/timeseries?groupBy=apiKey', async () => {
    const ask = (key: string) =>
      request(app.url)
        .post('/v1/chat/completions')
        .set('authorization', bearer(key))
        .send({ model: 'route:chat', messages: [{ role: 'user', content: 'hi' }] })
        .expect(200);
    await ask(keys.gateway);
    await ask(keys.gateway);
    await ask(app.adminKey!);
    await clock.advance(1000);
    const me = async (key: string) =>
      (await request(app.url).get('/api/keys/me').set('authorization', bearer(key))).body.id as string | undefined;
    const admin = await me(app.adminKey!);
    const gatewayKey = (await api(app).get('/api/keys').expect(200)).body.find(
      (k: { name: string }) => k.name === 'gateway-key',
    ).id;
    const series = await eventually(async () => {
      const body = (
        await api(app).get('/api/metrics/timeseries').query({ groupBy: 'apiKey', policy: 'chat' }).expect(200)
      ).body;
      const total = (id: string | undefined) =>
        body.series
          .find((s: { key: string }) => s.key === id)
          ?.points.reduce((n: number, p: { requests: number }) => n + p.requests, 0);
      return total(gatewayKey) === 2 && total(admin) === 1 ? body : undefined;
    }, 10_000);
    expect(series.groupBy).toBe('apiKey');
    await api(app).get('/api/metrics/timeseries').query({ groupBy: 'team' }).expect(400);
  });

  it('answers 503 naming the fix when the control room was not built, and starts all the same', async () => {
    const bare = await startTestApp({ databaseUrl: database.url, env: { UI_DIR: '/nonexistent/switchyard-ui' } });
    try {
      const page = await request(bare.url).get('/ui').expect(503);
      expect(page.body).toMatchObject({
        code: 'ui_not_built',
        message:
          'the control room is not built (UI_DIR has no index.html); run npm run build and restart (npm start does both)',
      });
      await request(bare.url).get('/health/live').expect(200);
    } finally {
      await bare.close();
    }
  });
});

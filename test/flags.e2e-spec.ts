import { bucketFor } from '@switchyard/bucketing';
import { rawBytes } from './support/raw-http';
import { createTestDatabase, queryRows } from './support/test-database';
import { api, startTestApp, type TestApp } from './support/test-app';
import { eventually } from './support/webhook-server';

const KEY = 'recommendations-model';

function newFlag(key = KEY, extra: Record<string, unknown> = {}) {
  return {
    key,
    description: 'Move product recommendations to DeepSeek',
    variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
    defaultVariant: 'control',
    rollout: { treatment: 5 },
    rules: [
      {
        name: 'sg-enterprise',
        conditions: [
          { attribute: 'country', operator: 'in', values: ['SG', 'MY'] },
          { attribute: 'tier', operator: 'equals', values: ['enterprise'] },
        ],
        serve: { variant: 'treatment' },
      },
      {
        name: 'beta-half',
        conditions: [{ attribute: 'cohort', operator: 'starts_with', values: ['beta'] }],
        serve: { rollout: { treatment: 50 } },
      },
    ],
    ...extra,
  };
}

function userWhere(salt: string, want: (bucket: number) => boolean): string {
  for (let i = 0; ; i++) if (want(bucketFor(salt, `user-${i}`))) return `user-${i}`;
}

interface HistoryRow {
  id: string;
  version: number;
  action: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
  actor: string;
  source: string;
  reason: string | null;
}

describe('flags: admin API, history, concurrency and evaluation over HTTP and Postgres', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ databaseUrl: database.url });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const history = (key: string) =>
    queryRows<HistoryRow>(database.url, 'SELECT * FROM flag_history WHERE flag_key = $1 ORDER BY id', [key]);

  /** An admin key of its own for `name`: history names the key that made each change. */
  async function adminKeyFor(name: string): Promise<{ key: string; actor: string }> {
    const response = await api(app)
      .post('/api/keys')
      .send({ name, scopes: ['admin'] })
      .expect(201);
    return { key: response.body.key, actor: `key:${response.body.id} (${name})` };
  }

  it('goes through the full lifecycle, writing one history row per change with before, after, actor, source and reason', async () => {
    const [alice, bob, carol] = [await adminKeyFor('alice'), await adminKeyFor('bob'), await adminKeyFor('carol')];
    const [admin] = await queryRows<{ id: string; name: string }>(
      database.url,
      "SELECT id, name FROM api_keys WHERE created_by = 'SWITCHYARD_ADMIN_KEY'",
    );
    const adminActor = `key:${admin.id} (${admin.name})`;
    const created = await api(app, alice.key)
      .post('/api/flags')
      .set('x-actor', 'mallory') // no longer trusted: the key is the actor
      .set('x-change-reason', 'start the experiment')
      .send(newFlag())
      .expect(201);
    expect(created.body).toMatchObject({
      key: KEY,
      enabled: true,
      variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
      defaultVariant: 'control',
      rollout: { treatment: 5 },
      salt: KEY,
      version: 1,
      archivedAt: null,
    });
    expect(created.body.rules[1].serve).toEqual({ rollout: { treatment: 50 } });
    // Basis points in storage, percentages on the wire.
    const [stored] = await queryRows<{ rollout: unknown; rules: Array<{ serve: unknown }> }>(
      database.url,
      'SELECT rollout, rules FROM flags WHERE key = $1',
      [KEY],
    );
    expect(stored.rollout).toEqual({ treatment: 500 });
    expect(stored.rules[1].serve).toEqual({ rollout: { treatment: 5000 } });

    await api(app)
      .get(`/api/flags/${KEY}`)
      .expect(200)
      .expect((res) => expect(res.body).toEqual(created.body));

    const patched = await api(app, bob.key)
      .patch(`/api/flags/${KEY}`)
      .send({ version: 1, description: 'DeepSeek for recommendations', reason: 'clearer wording' })
      .expect(200);
    expect(patched.body).toMatchObject({
      version: 2,
      description: 'DeepSeek for recommendations',
      rollout: { treatment: 5 },
    });

    const rolled = await api(app, carol.key)
      .put(`/api/flags/${KEY}/rollout`)
      .send({ rollout: { treatment: 15.25 }, version: 2 })
      .expect(200);
    expect(rolled.body).toMatchObject({ version: 3, rollout: { treatment: 15.25 } });

    await api(app)
      .post(`/api/flags/${KEY}/kill`)
      .set('x-change-reason', 'error spike')
      .expect(200)
      .expect((res) => expect(res.body).toMatchObject({ enabled: false, version: 4 }));
    await api(app)
      .post(`/api/flags/${KEY}/enable`)
      .send({ version: 4 })
      .expect(200)
      .expect((res) => expect(res.body).toMatchObject({ enabled: true, version: 5 }));
    await api(app).post(`/api/flags/${KEY}/kill`).send({ version: 4 }).expect(409);

    const rows = await history(KEY);
    expect(rows.map((row) => [row.version, row.action, row.actor, row.source, row.reason])).toEqual([
      [1, 'create', alice.actor, 'api', 'start the experiment'],
      [2, 'update', bob.actor, 'api', 'clearer wording'],
      [3, 'rollout', carol.actor, 'api', null],
      [4, 'kill', adminActor, 'api', 'error spike'],
      [5, 'enable', adminActor, 'api', null],
    ]);
    expect(rows[0].before).toBeNull();
    // History keeps the flag's own state; which policy routes by it comes from the catalog at read time.
    const { policy, unused, ...state } = created.body;
    expect({ policy, unused }).toEqual({ policy: 'recommendations', unused: false });
    expect(rows[0].after).toEqual(state);
    expect(rows[2].before).toMatchObject({ version: 2, rollout: { treatment: 5 } });
    expect(rows[2].after).toMatchObject({ version: 3, rollout: { treatment: 15.25 } });
    expect(rows[3].before).toMatchObject({ enabled: true });
    expect(rows[3].after).toMatchObject({ enabled: false, version: 4 });

    const page1 = await api(app).get(`/api/flags/${KEY}/history?limit=2`).expect(200);
    expect(page1.body.items.map((item: { version: number }) => item.version)).toEqual([5, 4]);
    const page2 = await api(app).get(`/api/flags/${KEY}/history?limit=2&before=${page1.body.nextBefore}`).expect(200);
    expect(page2.body.items.map((item: { version: number }) => item.version)).toEqual([3, 2]);
    const page3 = await api(app).get(`/api/flags/${KEY}/history?limit=2&before=${page2.body.nextBefore}`).expect(200);
    expect(page3.body).toMatchObject({ items: [{ version: 1, action: 'create', before: null }], nextBefore: null });

    const archived = await api(app, bob.key).delete(`/api/flags/${KEY}`).expect(200);
    expect(archived.body).toMatchObject({ version: 6 });
    expect(archived.body.archivedAt).toEqual(expect.any(String));
    expect((await history(KEY)).at(-1)).toMatchObject({ version: 6, action: 'archive', actor: bob.actor });

    // Archived: not served, not changeable, listed only as archived, history kept, key not reusable.
    await api(app).post(`/api/flags/${KEY}/evaluate`).send({ userId: 'u1' }).expect(404);
    const refused = await api(app).patch(`/api/flags/${KEY}`).send({ version: 6, description: 'x' }).expect(409);
    expect(refused.body).toMatchObject({ code: 'flag_archived', message: expect.stringContaining('is archived') });
    const active = await api(app).get('/api/flags').expect(200);
    expect(active.body.items.map((flag: { key: string }) => flag.key)).not.toContain(KEY);
    const onlyArchived = await api(app).get('/api/flags?archived=true').expect(200);
    expect(onlyArchived.body.items.map((flag: { key: string }) => flag.key)).toContain(KEY);
    await api(app)
      .get(`/api/flags/${KEY}/history`)
      .expect(200)
      .expect((res) => expect(res.body.items).toHaveLength(6));
    await api(app).post('/api/flags').send(newFlag()).expect(409);
  });

  it('lists flags by key a page at a time, archived ones only when asked, found by words of their key or description', async () => {
    for (const key of ['list-a', 'list-b', 'list-c', 'list-d', 'list-e'])
      await api(app).post('/api/flags').send(newFlag(key)).expect(201);
    await api(app).patch('/api/flags/list-d').send({ version: 1, description: 'Hotel SEARCH ranking' }).expect(200);
    await api(app).delete('/api/flags/list-c').send({}).expect(200);
    const keysOf = (body: { items: Array<{ key: string }> }) => body.items.map((flag) => flag.key);

    const first = (await api(app).get('/api/flags?search=list-&limit=2').expect(200)).body;
    expect([keysOf(first), first.nextAfter]).toEqual([['list-a', 'list-b'], 'list-b']);
    const second = (await api(app).get(`/api/flags?search=list-&limit=2&after=${first.nextAfter}`).expect(200)).body;
    expect([keysOf(second), second.nextAfter]).toEqual([['list-d', 'list-e'], null]);
    // A view of a flag, as GET /api/flags/:key answers it.
    expect(second.items[0]).toEqual((await api(app).get('/api/flags/list-d').expect(200)).body);

    const archived = (await api(app).get('/api/flags?search=list-&archived=true').expect(200)).body;
    expect([keysOf(archived), archived.nextAfter]).toEqual([['list-c'], null]);
    const all = (await api(app).get('/api/flags?search=LIST-&archived=all').expect(200)).body;
    expect(keysOf(all)).toEqual(['list-a', 'list-b', 'list-c', 'list-d', 'list-e']);
    // Words of the description, in any case; % and _ are letters, not patterns.
    expect(keysOf((await api(app).get('/api/flags?search=hotel%20search').expect(200)).body)).toEqual(['list-d']);
    expect(keysOf((await api(app).get('/api/flags?search=%25').expect(200)).body)).toEqual([]);
    expect(keysOf((await api(app).get('/api/flags?search=list_').expect(200)).body)).toEqual([]);
  });

  it.each([
    ['limit=0', 'limit must be an integer between 1 and 200'],
    ['limit=201', 'limit must be an integer between 1 and 200'],
    ['limit=ten', 'limit must be an integer between 1 and 200'],
    ['after=Not%20a%20key', 'after must be a flag key (the nextAfter of the previous page)'],
    ['archived=maybe', 'archived must be true (only archived flags), false (only active ones) or all'],
    ['search=', 'search must be 1 to 100 characters of a key or description'],
    [`search=${'a'.repeat(101)}`, 'search must be 1 to 100 characters of a key or description'],
    ['page=2', 'page is not a field of this request; remove it'],
  ])('answers GET /api/flags?%s with 400 naming the parameter', async (query, message) => {
    const response = await api(app).get(`/api/flags?${query}`).expect(400);
    expect(response.body.message).toBe(message);
  });

  it('lets exactly one of two concurrent PATCHes on the same version through; the other gets 409 and writes nothing', async () => {
    const key = 'concurrent-flag';
    await api(app).post('/api/flags').send(newFlag(key)).expect(201);
    const [a, b] = await Promise.all([
      api(app).patch(`/api/flags/${key}`).send({ version: 1, description: 'from a' }),
      api(app).patch(`/api/flags/${key}`).send({ version: 1, description: 'from b' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const [winner, loser] = a.status === 200 ? [a, b] : [b, a];
    expect(loser.body.message).toContain('is at version 2');
    const rows = await history(key);
    expect(rows.map((row) => [row.version, row.action])).toEqual([
      [1, 'create'],
      [2, 'update'],
    ]);
    expect(rows[1].after).toMatchObject({ description: winner.body.description });
    expect(rows[1].before).toMatchObject({ version: 1 });
    const [flag] = await queryRows<{ version: number; description: string }>(
      database.url,
      'SELECT version, description FROM flags WHERE key = $1',
      [key],
    );
    expect(flag).toEqual({ version: 2, description: winner.body.description });
  });

  it('serves rules ahead of the rollout, the rollout by bucket, and the default to everyone else', async () => {
    const key = 'rules-flag';
    await api(app).post('/api/flags').send(newFlag(key)).expect(201);
    const outside = userWhere(key, (bucket) => bucket >= 5000);
    const inRollout = userWhere(key, (bucket) => bucket < 500);
    const evaluate = (body: object) => api(app).post(`/api/flags/${key}/evaluate`).send(body).expect(200);

    const ruled = await evaluate({ userId: outside, attributes: { country: 'SG', tier: 'enterprise' } });
    expect(ruled.body).toEqual({
      flag: key,
      version: 1,
      variant: 'treatment',
      model: 'deepseek-v3.2',
      bucket: bucketFor(key, outside),
      reason: 'rule:sg-enterprise',
      sticky: true,
    });
    expect((await evaluate({ userId: outside, attributes: { cohort: 'beta-3' } })).body).toMatchObject({
      variant: 'control',
      reason: 'rule:beta-half',
    });
    expect((await evaluate({ userId: inRollout, attributes: {} })).body).toMatchObject({
      variant: 'treatment',
      reason: 'rollout',
    });
    expect((await evaluate({ userId: outside })).body).toMatchObject({
      variant: 'control',
      model: 'gpt-4.1',
      reason: 'default',
    });
    const unsticky = await evaluate({ attributes: {} });
    expect(unsticky.body.sticky).toBe(false);
    expect(unsticky.body.reason).toMatch(/ \(unsticky\)$/);
  });

  it('kill switch: a killed flag serves everyone the default, rules included, until enabled again', async () => {
    const key = 'kill-flag';
    await api(app)
      .post('/api/flags')
      .send(newFlag(key, { rollout: { treatment: 100 } }))
      .expect(201);
    const vip = { userId: 'u-1', attributes: { country: 'SG', tier: 'enterprise' } };
    await api(app)
      .post(`/api/flags/${key}/evaluate`)
      .send(vip)
      .expect(200)
      .expect((res) => expect(res.body.variant).toBe('treatment'));
    await api(app).post(`/api/flags/${key}/kill`).send({ reason: 'incident 42' }).expect(200);
    for (const body of [vip, { userId: 'u-2' }]) {
      const res = await api(app).post(`/api/flags/${key}/evaluate`).send(body).expect(200);
      expect(res.body).toMatchObject({ variant: 'control', model: 'gpt-4.1', reason: 'disabled' });
    }
    await api(app).post(`/api/flags/${key}/enable`).expect(200);
    await api(app)
      .post(`/api/flags/${key}/evaluate`)
      .send({ userId: 'u-2' })
      .expect(200)
      .expect((res) => expect(res.body.reason).toBe('rollout'));

    // What changes nothing writes nothing: the same state again, or a PATCH of what the flag has.
    const before = (await api(app).get(`/api/flags/${key}`).expect(200)).body;
    const historyBefore = (await api(app).get(`/api/flags/${key}/history`).expect(200)).body.items;
    await api(app).post(`/api/flags/${key}/enable`).expect(200);
    await api(app)
      .patch(`/api/flags/${key}`)
      .send({ version: before.version, enabled: true, defaultVariant: before.defaultVariant, rollout: before.rollout })
      .expect(200);
    expect((await api(app).get(`/api/flags/${key}`).expect(200)).body).toEqual(before);
    expect((await api(app).get(`/api/flags/${key}/history`).expect(200)).body.items).toEqual(historyBefore);
  });

  it.each([
    ['malformed key', newFlag('Bad_Key'), 'key must be a lower-case slug'],
    [
      'unknown model',
      newFlag('m1', { variants: { control: 'gpt-4.1', treatment: 'gpt-9' } }),
      'variants.treatment: unknown model "gpt-9"',
    ],
    [
      'rollout over 100',
      newFlag('m2', { rollout: { treatment: 60, control: 50 } }),
      'rollout adds up to 110%, more than 100',
    ],
    ['percentage over 100', newFlag('m3', { rollout: { treatment: 101 } }), 'rollout.treatment'],
    [
      'three decimals',
      newFlag('m4', { rollout: { treatment: 1.234 } }),
      'rollout.treatment: percentage may have at most two decimals',
    ],
    [
      'unknown variant in the rollout',
      newFlag('m5', { rollout: { canary: 5 } }),
      'rollout.canary names a variant that is not in variants',
    ],
    ['unknown default variant', newFlag('m6', { defaultVariant: 'nope' }), 'defaultVariant "nope" is not in variants'],
    [
      'unknown variant in a rule',
      newFlag('m7', {
        rules: [
          { name: 'r', conditions: [{ attribute: 'a', operator: 'in', values: ['x'] }], serve: { variant: 'nope' } },
        ],
      }),
      'rules[0].serve.variant "nope" is not in variants',
    ],
    [
      'bad operator',
      newFlag('m8', {
        rules: [
          {
            name: 'r',
            conditions: [{ attribute: 'a', operator: 'like', values: ['x'] }],
            serve: { variant: 'control' },
          },
        ],
      }),
      'operator must be one of the following values',
    ],
  ])('refuses %s with a 400 naming the field', async (_name, body, message) => {
    const response = await api(app).post('/api/flags').send(body).expect(400);
    expect(response.body.message).toContain(message);
  });

  it('refuses a rule without conditions on create and update, while a stored one keeps serving', async () => {
    const everyone = { name: 'everyone', conditions: [], serve: { variant: 'treatment' } };
    const noConditions = (index: number) =>
      `rules[${index}].conditions must have at least one condition (a rule without conditions would match every request; use the rollout or defaultVariant for everyone)`;
    const created = await api(app)
      .post('/api/flags')
      .send(newFlag('empty-rule-flag', { rules: [everyone] }))
      .expect(400);
    expect(created.body).toMatchObject({ code: 'validation_failed', message: noConditions(0) });

    const key = 'legacy-rule-flag';
    await api(app)
      .post('/api/flags')
      .send(newFlag(key, { rollout: {} }))
      .expect(201);
    const updated = await api(app)
      .patch(`/api/flags/${key}`)
      .send({ version: 1, rules: [newFlag().rules[0], everyone] })
      .expect(400);
    expect(updated.body.message).toBe(noConditions(1));
    expect(await history(key)).toHaveLength(1);

    // Written before rules needed a condition: it loads and matches everyone as it always did, and
    // a change that leaves the rules alone does not ask for them to be fixed first.
    await queryRows(database.url, 'UPDATE flags SET rules = $2 WHERE key = $1', [key, JSON.stringify([everyone])]);
    await queryRows(database.url, 'SELECT pg_notify($1, $2)', ['switchyard_flags', key]);
    const evaluate = () => api(app).post(`/api/flags/${key}/evaluate`).send({ userId: 'u-1' }).expect(200);
    await eventually(async () => (await evaluate()).body.reason === 'rule:everyone', 5000, 'the stored rule');
    await api(app)
      .patch(`/api/flags/${key}`)
      .send({ version: 1, description: 'still serving everyone the treatment' })
      .expect(200)
      .expect((res) => expect(res.body).toMatchObject({ version: 2, rules: [everyone] }));
    expect((await evaluate()).body).toMatchObject({ version: 2, variant: 'treatment', reason: 'rule:everyone' });
  });

  it('refuses a blank reason, in the body or the x-change-reason header, on every change', async () => {
    const key = 'reasoned-flag';
    const blank = 'reason must not be blank; leave it out for none';
    const created = await api(app)
      .post('/api/flags')
      .send(newFlag(key, { reason: '' }))
      .expect(400);
    expect(created.body).toMatchObject({ code: 'validation_failed', message: blank });
    await api(app).post('/api/flags').send(newFlag(key)).expect(201);
    const changes = [
      () => api(app).patch(`/api/flags/${key}`).send({ version: 1, description: 'x', reason: ' ' }),
      () =>
        api(app)
          .put(`/api/flags/${key}/rollout`)
          .send({ rollout: { treatment: 10 }, version: 1, reason: '\t' }),
      () => api(app).post(`/api/flags/${key}/kill`).send({ reason: '' }),
      () => api(app).delete(`/api/flags/${key}`).send({ reason: '  ' }),
    ];
    for (const change of changes) expect((await change().expect(400)).body.message).toBe(blank);
    const header = await api(app).post(`/api/flags/${key}/kill`).set('x-change-reason', ' ').expect(400);
    expect(header.body.message).toBe('x-change-reason must not be blank; leave it out for none');
    expect(await history(key)).toHaveLength(1);
  });

  it('keeps an x-change-reason sent as UTF-8 (curl) or as Latin-1 (a browser) as it was written', async () => {
    const key = 'accented-flag';
    await api(app).post('/api/flags').send(newFlag(key)).expect(201);
    const kill = async (reasonBytes: Buffer, path: 'kill' | 'enable') => {
      const head = Buffer.concat([
        Buffer.from(
          `POST /api/flags/${key}/${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n` +
            `authorization: Bearer ${app.adminKey}\r\ncontent-length: 0\r\nx-change-reason: `,
        ),
        reasonBytes,
        Buffer.from('\r\n\r\n'),
      ]);
      return rawBytes(app.url, head);
    };
    // curl sends what the terminal typed: UTF-8 bytes, which Node hands over one Latin-1 character each.
    const utf8 = 'déploiement 🚀 annulé';
    expect((await kill(Buffer.from(utf8, 'utf8'), 'kill')).status).toBe(200);
    // A browser's fetch sends é as the one byte 0xE9, which is no UTF-8: it stays the character it is.
    expect((await kill(Buffer.from('arrêt levé', 'latin1'), 'enable')).status).toBe(200);
    const reasons = (await history(key)).map((row) => row.reason);
    expect(reasons.slice(1)).toEqual([utf8, 'arrêt levé']);
  });

  it('answers unknown flags with 404, a stale version with 409, and a missing version with 400', async () => {
    const unknown = await api(app).get('/api/flags/nope').expect(404);
    expect(unknown.body).toMatchObject({ code: 'flag_not_found', message: 'flag "nope" does not exist' });
    await api(app).patch('/api/flags/nope').send({ version: 1 }).expect(404);
    const notServed = await api(app).post('/api/flags/nope/evaluate').send({}).expect(404);
    expect(notServed.body).toMatchObject({ code: 'flag_not_found', message: expect.stringContaining('is archived') });
    await api(app).post('/api/flags').send(newFlag('stale-flag')).expect(201);
    const taken = await api(app).post('/api/flags').send(newFlag('stale-flag')).expect(409);
    expect(taken.body).toMatchObject({ code: 'flag_already_exists', message: expect.stringContaining('key:') });
    const stale = await api(app)
      .put('/api/flags/stale-flag/rollout')
      .send({ rollout: { treatment: 10 }, version: 7 })
      .expect(409);
    expect(stale.body).toMatchObject({ code: 'flag_version_conflict' });
    expect(stale.body.message).toContain('is at version 1');
    const missing = await api(app).patch('/api/flags/stale-flag').send({ description: 'x' }).expect(400);
    expect(missing.body.message).toContain('version');
    const over = await api(app)
      .put('/api/flags/stale-flag/rollout')
      .send({ rollout: { treatment: 100.5 }, version: 1 })
      .expect(400);
    expect(over.body).toMatchObject({ code: 'flag_invalid' });
    expect(over.body.message).toContain('rollout.treatment');
    const twoFields = await api(app)
      .put('/api/flags/stale-flag/rollout')
      .send({ rollout: { treatment: 100.5, nope: 1 }, version: 1 })
      .expect(400);
    expect(twoFields.body.details).toEqual([
      expect.stringMatching(/^rollout\.treatment/),
      expect.stringMatching(/^rollout\.nope names a variant that is not in variants/),
    ]);
    expect(twoFields.body.message).toBe(twoFields.body.details.join('; '));
    expect(await history('stale-flag')).toHaveLength(1);
  });

  it('keeps history append-only in the database itself', async () => {
    await expect(queryRows(database.url, "UPDATE flag_history SET actor = 'mallory'")).rejects.toThrow(/append-only/);
    await expect(queryRows(database.url, 'DELETE FROM flag_history')).rejects.toThrow(/append-only/);
  });

  it('a second instance on the same database sees a change made through the first by notification, long before its 30 s reload', async () => {
    const key = 'replicated-flag';
    await api(app)
      .post('/api/flags')
      .send(newFlag(key, { rules: [], rollout: { treatment: 0 } }))
      .expect(201);
    const second = await startTestApp({ databaseUrl: database.url });
    try {
      await api(second)
        .post(`/api/flags/${key}/evaluate`)
        .send({ userId: 'u-1' })
        .expect(200)
        .expect((res) => expect(res.body.variant).toBe('control'));
      await api(app)
        .put(`/api/flags/${key}/rollout`)
        .send({ rollout: { treatment: 100 }, version: 1 })
        .expect(200);
      const changedAt = Date.now();
      let seen: { variant?: string; version?: number } = {};
      // Typically a few ms; the bound only has to stay under the periodic reload's 30 s, so a busy
      // machine cannot fail it.
      while (Date.now() - changedAt < 15_000) {
        seen = (await api(second).post(`/api/flags/${key}/evaluate`).send({ userId: 'u-1' })).body;
        if (seen.version === 2) break;
        await new Promise((done) => setTimeout(done, 20));
      }
      expect(seen).toMatchObject({ version: 2, variant: 'treatment' });
    } finally {
      await second.close();
    }
  });
  it('listens over one connection per process, and after losing it catches up with what changed meanwhile', async () => {
    const key = 'relistened-flag';
    await api(app)
      .post('/api/flags')
      .send(newFlag(key, { rules: [], rollout: { treatment: 0 } }))
      .expect(201);
    const second = await startTestApp({ databaseUrl: database.url });
    const listeners = async () =>
      (
        await queryRows<{ shared: number; perChannel: number }>(
          database.url,
          `SELECT count(*) FILTER (WHERE application_name = 'switchyard-listener')::int AS shared,
                  count(*) FILTER (WHERE application_name LIKE 'switchyard-%-listener')::int AS "perChannel"
             FROM pg_stat_activity WHERE datname = current_database()`,
        )
      )[0];
    /** The version the second instance evaluates, once it is `version` (within 15 s: the periodic reload is 30 s). */
    const seenBySecond = async (version: number) => {
      const since = Date.now();
      let seen: { variant?: string; version?: number } = {};
      while (Date.now() - since < 15_000) {
        seen = (await api(second).post(`/api/flags/${key}/evaluate`).send({ userId: 'u-1' })).body;
        if (seen.version === version) break;
        await new Promise((done) => setTimeout(done, 20));
      }
      return seen;
    };
    try {
      // Five channels (flags, keys, catalog, canaries, budgets), one LISTEN connection per instance.
      expect(await listeners()).toEqual({ shared: 2, perChannel: 0 });
      // Both instances' LISTEN connections cut; a change made before they are back is never notified.
      await queryRows(
        database.url,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'switchyard-listener'`,
      );
      await api(app)
        .put(`/api/flags/${key}/rollout`)
        .send({ rollout: { treatment: 100 }, version: 1 })
        .expect(200);
      expect(await seenBySecond(2)).toMatchObject({ version: 2, variant: 'treatment' });
      await eventually(async () => (await listeners()).shared === 2, 10_000, 'both instances listening again');
      await api(app)
        .put(`/api/flags/${key}/rollout`)
        .send({ rollout: { treatment: 0 }, version: 2 })
        .expect(200);
      expect(await seenBySecond(3)).toMatchObject({ version: 3, variant: 'control' });
    } finally {
      await second.close();
    }
  });
});

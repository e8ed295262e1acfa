import { createHmac, randomUUID } from 'node:crypto';
import request from 'supertest';
import { api as authorized, startTestApp, writeTestCatalog, type TestApp, type TestCatalog } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { eventually, WebhookServer } from './support/webhook-server';

const SECRET = 'canary-test-webhook-secret';
const hello = [{ role: 'user', content: 'Recommend a book.' }];

/** Seconds, not hours: stages of ~1.5 s, judged every 0.25 s, with small samples. */
const FAST_CANARY_ENV = {
  CANARY_TICK_SECONDS: '0.25',
  METRICS_FLUSH_INTERVAL_MS: '20',
  ALERT_SEND_INTERVAL_MS: '100',
  ALERT_RETRY_BASE_MS: '100',
  ALERT_WEBHOOK_SECRET: SECRET,
  GATEWAY_MAX_RETRIES: '0',
  // Breakers would hide a failing model behind its fallbacks before the canary sees enough of it.
  GATEWAY_BREAKER_MIN_REQUESTS: '100000',
};
const FAST_ANALYSIS = { minRequests: 10 };
const ROLLOUT_STAGES = [
  ...[5, 15, 35, 65].map((percentage) => ({ percentage, durationSeconds: 2 })),
  { percentage: 100, durationSeconds: 0 },
];
const LONG = 90_000;

/** Requests through a policy from many users, as fast as a few workers can send them, until stopped. */
class Traffic {
  private running = true;
  private readonly workers: Promise<void>[];
  sent = 0;

  constructor(app: TestApp, policy: string, concurrency = 6) {
    this.workers = Array.from({ length: concurrency }, () => this.work(app, policy));
  }

  private async work(app: TestApp, policy: string): Promise<void> {
    while (this.running) {
      const response = await fetch(`${app.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-user-id': randomUUID(),
          authorization: `Bearer ${app.adminKey}`,
        },
        body: JSON.stringify({ model: `route:${policy}`, messages: hello }),
      }).catch(() => undefined);
      await response?.arrayBuffer();
      this.sent++;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }
}

function api(app: TestApp) {
  return {
    createFlag: (key: string, variants: Record<string, string>) =>
      authorized(app).post('/api/flags').send({ key, variants, defaultVariant: 'control', rollout: {} }).expect(201),
    createCanary: (body: Record<string, unknown>) => authorized(app).post('/api/canaries').send(body),
    canary: async (id: string) => (await authorized(app).get(`/api/canaries/${id}`).expect(200)).body,
    events: async (id: string) =>
      (await authorized(app).get(`/api/canaries/${id}/events`).query({ limit: 500 }).expect(200)).body.items as Array<{
        type: string;
        stage: number;
        instance: string;
        at: string;
        evidence: Record<string, unknown> | null;
        message: string;
      }>,
    flag: async (key: string) => (await authorized(app).get(`/api/flags/${key}`).expect(200)).body,
    history: async (key: string) =>
      (await authorized(app).get(`/api/flags/${key}/history`).query({ limit: 200 }).expect(200)).body.items,
    profile: (model: string, profile: Record<string, unknown>) =>
      request(app.simulatorUrl).put(`/_simulator/profiles/${model}`).send(profile).expect(200),
  };
}

async function waitForState(app: TestApp, id: string, states: string[], timeoutMs: number) {
  return eventually(
    async () => {
      const canary = await api(app).canary(id);
      return states.includes(canary.state) ? canary : undefined;
    },
    timeoutMs,
    `canary ${id} in ${states.join('|')}`,
  );
}

function verifySignature(raw: Buffer, header: unknown): boolean {
  return header === `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
}

describe('canary: staged rollouts judged on treatment vs control', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let catalog: TestCatalog;
  let gateway: TestApp;
  let webhook: WebhookServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    webhook = await new WebhookServer().start();
    catalog = await writeTestCatalog();
    gateway = await startTestApp({
      databaseUrl: database.url,
      catalog,
      env: { ...FAST_CANARY_ENV, ALERT_WEBHOOK_URL: webhook.url('/alerts') },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await webhook?.stop();
    await database?.drop();
  });

  it(
    'moves a healthy treatment 5 -> 15 -> 35 -> 65 -> 100 and promotes it, in history, events and signed alerts',
    async () => {
      const { createFlag, createCanary, events, flag, history } = api(gateway);
      await createFlag('recommendations-model', { control: 'deepseek-v3.2', treatment: 'gemini-2.5-flash' });
      const traffic = new Traffic(gateway, 'recommendations');
      try {
        const created = await createCanary({
          flagKey: 'recommendations-model',
          variant: 'treatment',
          stages: ROLLOUT_STAGES,
          analysis: FAST_ANALYSIS,
        }).expect(201);
        expect(created.body).toMatchObject({
          state: 'running',
          controlVariant: 'control',
          stage: { index: 0, percentage: 5 },
        });
        expect((await flag('recommendations-model')).rollout).toEqual({ treatment: 5 });
        const done = await waitForState(gateway, created.body.id, ['promoted', 'rolled_back', 'paused'], 60_000);
        expect(done.state).toBe('promoted');
      } finally {
        await traffic.stop();
      }
      const id = (
        await authorized(gateway).get('/api/canaries').query({ flagKey: 'recommendations-model' }).expect(200)
      ).body[0].id;
      expect((await flag('recommendations-model')).rollout).toEqual({ treatment: 100 });

      const canaryRows = (await history('recommendations-model')).filter(
        (row: { source: string }) => row.source === 'canary',
      );
      expect(
        canaryRows.map((row: { after: { rollout: Record<string, number> } }) => row.after.rollout.treatment).reverse(),
      ).toEqual([5, 15, 35, 65, 100]);
      for (const row of canaryRows) expect(row.reason).toContain(`canary ${id} stage`);

      const transitions = (await events(id)).filter((event) => event.type !== 'verdict').map((event) => event.type);
      expect(transitions).toEqual([
        'created',
        'started',
        'stage_advanced',
        'stage_advanced',
        'stage_advanced',
        'promoted',
      ]);
      const verdicts = (await events(id)).filter((event) => event.type === 'verdict');
      expect(verdicts.length).toBeGreaterThanOrEqual(4);
      expect(verdicts[verdicts.length - 1].evidence).toMatchObject({ decision: 'promote', outcome: 'pass' });

      const alerts = await eventually(() => {
        const mine = webhook.received.filter((hook) => (hook.json as { canary?: string }).canary === id);
        return mine.length >= 5 ? mine : undefined;
      }, 10_000);
      expect(alerts.map((hook) => (hook.json as { type: string }).type)).toEqual([
        'canary.started',
        'canary.stage_advanced',
        'canary.stage_advanced',
        'canary.stage_advanced',
        'canary.promoted',
      ]);
      for (const hook of alerts) expect(verifySignature(hook.raw, hook.headers['x-switchyard-signature'])).toBe(true);
    },
    LONG,
  );

  it(
    'rolls back a treatment that starts failing mid-rollout, within a few ticks, and alerts',
    async () => {
      const { createFlag, createCanary, events, flag, history, profile } = api(gateway);
      await createFlag('chat-model', { control: 'gemini-2.5-flash', treatment: 'deepseek-v3.2' });
      const traffic = new Traffic(gateway, 'chat');
      try {
        const created = await createCanary({
          flagKey: 'chat-model',
          variant: 'treatment',
          stages: ROLLOUT_STAGES,
          analysis: FAST_ANALYSIS,
        }).expect(201);
        await eventually(
          async () => ((await api(gateway).canary(created.body.id)).stage.index >= 1 ? true : undefined),
          30_000,
          'stage 2',
        );
        // The treatment's model now fails every call; the chat policy's fallback rescues the users,
        // which the canary counts against the treatment.
        await profile('deepseek-v3.2', { errorRate: 1 });
        const brokeAt = Date.now();
        const done = await waitForState(gateway, created.body.id, ['rolled_back', 'promoted'], 20_000);
        expect(done.state).toBe('rolled_back');
        expect(Date.now() - brokeAt).toBeLessThan(10_000);
        expect(done.lastVerdict).toMatchObject({ decision: 'rollback', outcome: 'fail' });
        expect(done.lastVerdict.evidence.treatment.failureRate).toBeGreaterThan(0.5);
        expect(done.lastVerdict.evidence.errorRateTest.pValue).toBeLessThan(0.05);
      } finally {
        await traffic.stop();
        await profile('deepseek-v3.2', { errorRate: 0 });
      }
      expect((await flag('chat-model')).rollout).toEqual({ treatment: 0 });
      const last = (await history('chat-model'))[0];
      expect(last).toMatchObject({ source: 'canary', actor: 'canary-executor' });
      expect(last.reason).toMatch(/rolled back/);
      const id = (await authorized(gateway).get('/api/canaries').query({ flagKey: 'chat-model' }).expect(200)).body[0]
        .id;
      expect((await events(id)).map((event) => event.type)).toContain('rolled_back');
      const alert = await eventually(
        () =>
          webhook.received.find(
            (hook) =>
              (hook.json as { type: string; canary: string }).type === 'canary.rolled_back' &&
              (hook.json as { canary: string }).canary === id,
          ),
        10_000,
      );
      expect(alert.json).toMatchObject({ severity: 'critical', flag: 'chat-model' });
      expect(verifySignature(alert.raw, alert.headers['x-switchyard-signature'])).toBe(true);
    },
    LONG,
  );

  it(
    'holds, without rolling back, when the control fails just as much (a provider-wide outage)',
    async () => {
      const { createFlag, createCanary, events, flag, profile } = api(gateway);
      await createFlag('fraud-model', { control: 'claude-sonnet-4.5', treatment: 'gpt-4.1' });
      await profile('claude-sonnet-4.5', { errorRate: 0.3 });
      await profile('gpt-4.1', { errorRate: 0.3 });
      const traffic = new Traffic(gateway, 'fraud');
      let id = '';
      try {
        const created = await createCanary({
          flagKey: 'fraud-model',
          variant: 'treatment',
          stages: [
            { percentage: 50, durationSeconds: 60 },
            { percentage: 100, durationSeconds: 0 },
          ],
          // Both arms fail 30% at random: at the default 5% a chance "worse than control" on some
          // tick is likely over many ticks; a strict alpha keeps this test about the hold itself.
          analysis: { ...FAST_ANALYSIS, significance: 0.0005 },
        }).expect(201);
        id = created.body.id;
        const held = await eventually(
          async () => ((await events(id)).some((event) => event.type === 'held') ? true : undefined),
          20_000,
          'a held event',
        );
        expect(held).toBe(true);
        // Keep judging for a while: still no rollback.
        await new Promise((resolve) => setTimeout(resolve, 1500));
      } finally {
        await traffic.stop();
        await profile('claude-sonnet-4.5', { errorRate: 0 });
        await profile('gpt-4.1', { errorRate: 0 });
      }
      const canary = await api(gateway).canary(id);
      expect(canary.state).toBe('running');
      expect(canary.lastVerdict.outcome).toBe('hold');
      expect(canary.lastVerdict.evidence.control.failureRate).toBeGreaterThan(0.1);
      expect((await flag('fraud-model')).rollout).toEqual({ treatment: 50 });
      const alert = await eventually(
        () =>
          webhook.received.find(
            (hook) =>
              (hook.json as { type: string; canary: string }).type === 'canary.held' &&
              (hook.json as { canary: string }).canary === id,
          ),
        10_000,
      );
      expect(alert).toBeDefined();
      await authorized(gateway).post(`/api/canaries/${id}/abort`).send({ reason: 'test over' }).expect(200);
      expect((await flag('fraud-model')).rollout).toEqual({ treatment: 0 });
    },
    LONG,
  );

  it(
    'holds while there is too little traffic, extends the stage, then pauses and alerts',
    async () => {
      const { createCanary, events } = api(gateway);
      await authorized(gateway)
        .post('/api/flags')
        .send({
          key: 'quiet-flag',
          variants: { control: 'deepseek-v3.2', treatment: 'gpt-4.1' },
          defaultVariant: 'control',
        })
        .expect(201);
      const created = await createCanary({
        flagKey: 'quiet-flag',
        variant: 'treatment',
        stages: [
          { percentage: 10, durationSeconds: 1 },
          { percentage: 100, durationSeconds: 0 },
        ],
        analysis: FAST_ANALYSIS,
        maxStageExtensions: 1,
      }).expect(201);
      const paused = await waitForState(gateway, created.body.id, ['paused', 'promoted', 'rolled_back'], 15_000);
      expect(paused.state).toBe('paused');
      expect(paused.stage.elapsedSeconds).toBeGreaterThanOrEqual(2);
      const verdicts = (await events(created.body.id)).filter((event) => event.type === 'verdict');
      expect(verdicts.length).toBeGreaterThan(1);
      for (const verdict of verdicts) expect(verdict.evidence).toMatchObject({ outcome: 'insufficient_data' });
      await eventually(
        () =>
          webhook.received.find(
            (hook) =>
              (hook.json as { type: string; canary: string }).type === 'canary.paused' &&
              (hook.json as { canary: string }).canary === created.body.id,
          ),
        10_000,
      );
    },
    LONG,
  );

  it(
    'pauses with an alert, instead of failing every tick, when the flag refuses the next stage',
    async () => {
      const { createCanary, events, flag } = api(gateway);
      // A third variant holds 90% by hand: the treatment's next stage (20%) would need 110%.
      await authorized(gateway)
        .post('/api/flags')
        .send({
          key: 'recommendations-model',
          variants: { control: 'deepseek-v3.2', treatment: 'gemini-2.5-flash', other: 'gpt-4.1' },
          defaultVariant: 'control',
          rollout: { other: 90 },
        })
        .expect((response) => expect([201, 409]).toContain(response.status));
      const existing = await flag('recommendations-model');
      await authorized(gateway)
        .patch('/api/flags/recommendations-model')
        .send({
          version: existing.version,
          variants: { control: 'deepseek-v3.2', treatment: 'gemini-2.5-flash', other: 'gpt-4.1' },
          rollout: { other: 90, treatment: 0 },
        })
        .expect(200);
      const traffic = new Traffic(gateway, 'recommendations');
      try {
        const created = await createCanary({
          flagKey: 'recommendations-model',
          variant: 'treatment',
          stages: [
            { percentage: 5, durationSeconds: 2 },
            { percentage: 20, durationSeconds: 2 },
            { percentage: 100, durationSeconds: 0 },
          ],
          analysis: { minRequests: 3 },
        }).expect(201);
        const paused = await waitForState(gateway, created.body.id, ['paused', 'rolled_back', 'promoted'], 30_000);
        expect(paused.state).toBe('paused');
        const last = (await events(created.body.id)).at(-1)!;
        expect(last).toMatchObject({ type: 'paused', actor: 'canary-executor' });
        expect(last.message).toMatch(/could not advance .*the flag refused the weight change: rollout adds up to 110%/);
        await eventually(
          () =>
            webhook.received.find(
              (hook) =>
                (hook.json as { type: string; canary: string }).type === 'canary.paused' &&
                (hook.json as { canary: string }).canary === created.body.id,
            ),
          10_000,
        );
        expect((await flag('recommendations-model')).rollout).toEqual({ other: 90, treatment: 5 });
        await authorized(gateway).post(`/api/canaries/${created.body.id}/abort`).expect(200);
      } finally {
        await traffic.stop();
      }
    },
    LONG,
  );

  it(
    'refuses bad plans with 400s naming the field, a second active canary with 409, illegal actions with 409',
    async () => {
      const { createCanary } = api(gateway);
      await authorized(gateway)
        .post('/api/flags')
        .send({
          key: 'plans-flag',
          variants: { control: 'deepseek-v3.2', treatment: 'gpt-4.1' },
          defaultVariant: 'control',
        })
        .expect(201);
      const bad: Array<[Record<string, unknown>, RegExp]> = [
        [{ flagKey: 'no-such-flag', variant: 'treatment' }, /flagKey: flag "no-such-flag" does not exist/],
        [{ flagKey: 'plans-flag', variant: 'nope' }, /variant: flag "plans-flag" has no variant "nope"/],
        [{ flagKey: 'plans-flag', variant: 'control' }, /is the flag's default variant/],
        [
          {
            flagKey: 'plans-flag',
            variant: 'treatment',
            stages: [
              { percentage: 20, durationSeconds: 5 },
              { percentage: 10, durationSeconds: 5 },
              { percentage: 100, durationSeconds: 0 },
            ],
          },
          /percentages must rise/,
        ],
        [
          { flagKey: 'plans-flag', variant: 'treatment', stages: [{ percentage: 20, durationSeconds: 5 }] },
          /final stage must be 100/,
        ],
        [{ flagKey: 'plans-flag', variant: 'treatment', analysis: { maxErrorRate: 2 } }, /analysis\.maxErrorRate/],
        [{ flagKey: 'plans-flag', variant: 'treatment', analysis: { maxErrorRat: 0.1 } }, /maxErrorRat/],
        [
          { flagKey: 'plans-flag', variant: 'treatment', alertWebhookUrl: 'ftp://x' },
          /alertWebhookUrl must be an http\(s\) URL/,
        ],
      ];
      for (const [body, message] of bad) {
        const response = await createCanary(body).expect(400);
        expect([response.body.message].flat().join('; ')).toMatch(message);
      }

      const pending = await createCanary({
        flagKey: 'plans-flag',
        variant: 'treatment',
        start: false,
        alertWebhookUrl: 'https://hooks.example.internal/secret-path',
      }).expect(201);
      expect(pending.body).toMatchObject({
        state: 'pending',
        stage: null,
        alertWebhookOrigin: 'https://hooks.example.internal',
      });
      expect(JSON.stringify(pending.body)).not.toContain('secret-path');
      expect(pending.body.stages.map((stage: { percentage: number }) => stage.percentage)).toEqual([
        5, 15, 35, 65, 100,
      ]);
      const second = await createCanary({ flagKey: 'plans-flag', variant: 'treatment' }).expect(409);
      expect(second.body.message).toMatch(/already has an active canary/);

      const id = pending.body.id;
      const resume = await authorized(gateway).post(`/api/canaries/${id}/resume`).expect(409);
      expect(resume.body.message).toMatch(/is pending; resume applies only to a canary that is paused/);
      await authorized(gateway).post(`/api/canaries/${id}/explode`).expect(400);
      await authorized(gateway).post(`/api/canaries/${randomUUID()}/start`).expect(404);

      await authorized(gateway).post(`/api/canaries/${id}/start`).expect(200);
      await authorized(gateway).post(`/api/canaries/${id}/pause`).expect(200);
      const resumed = await authorized(gateway).post(`/api/canaries/${id}/resume`).expect(200);
      expect(resumed.body.state).toBe('running');
      const promoted = await authorized(gateway)
        .post(`/api/canaries/${id}/promote`)
        .send({ reason: 'looks great' })
        .expect(200);
      expect(promoted.body).toMatchObject({ state: 'promoted' });
      expect((await api(gateway).flag('plans-flag')).rollout).toEqual({ treatment: 100 });
      const abort = await authorized(gateway).post(`/api/canaries/${id}/abort`).expect(409);
      expect(abort.body.message).toMatch(/is promoted/);
      const types = (await api(gateway).events(id)).map((event) => event.type);
      expect(types).toEqual(['created', 'started', 'paused', 'resumed', 'promoted']);
    },
    LONG,
  );
});

describe('canary: state lives in Postgres — restarts resume, replicas take turns', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let catalog: TestCatalog;

  beforeAll(async () => {
    database = await createTestDatabase();
    catalog = await writeTestCatalog();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it(
    'resumes the same stage with the same start time after a restart',
    async () => {
      const first = await startTestApp({ databaseUrl: database.url, catalog, env: FAST_CANARY_ENV });
      let id: string;
      let startedAt: string;
      try {
        await api(first).createFlag('recommendations-model', {
          control: 'deepseek-v3.2',
          treatment: 'gemini-2.5-flash',
        });
        const created = await api(first)
          .createCanary({
            flagKey: 'recommendations-model',
            variant: 'treatment',
            stages: [
              { percentage: 5, durationSeconds: 300 },
              { percentage: 100, durationSeconds: 0 },
            ],
            analysis: FAST_ANALYSIS,
          })
          .expect(201);
        id = created.body.id;
        startedAt = created.body.stage.startedAt;
      } finally {
        await first.close();
      }
      const second = await startTestApp({ databaseUrl: database.url, catalog, env: FAST_CANARY_ENV });
      try {
        const tickedAfterRestart = await eventually(async () => {
          const canary = await api(second).canary(id);
          return canary.lastVerdict && Date.parse(canary.lastVerdict.at) > Date.now() - 1000 ? canary : undefined;
        }, 10_000);
        expect(tickedAfterRestart).toMatchObject({ state: 'running', stage: { index: 0, percentage: 5, startedAt } });
        await authorized(second).post(`/api/canaries/${id}/abort`).expect(200);
      } finally {
        await second.close();
      }
    },
    LONG,
  );

  it(
    'lets exactly one of two replicas act on each tick',
    async () => {
      // Each replica runs its own simulator, so each needs a catalog with its own port.
      const replicas = [
        await startTestApp({ databaseUrl: database.url, catalog, env: FAST_CANARY_ENV }),
        await startTestApp({ databaseUrl: database.url, catalog: await writeTestCatalog(), env: FAST_CANARY_ENV }),
      ];
      try {
        await authorized(replicas[0])
          .post('/api/flags')
          .send({
            key: 'replicated-flag',
            variants: { control: 'deepseek-v3.2', treatment: 'gpt-4.1' },
            defaultVariant: 'control',
          })
          .expect(201);
        const created = await api(replicas[0])
          .createCanary({
            flagKey: 'replicated-flag',
            variant: 'treatment',
            stages: [
              { percentage: 5, durationSeconds: 300 },
              { percentage: 100, durationSeconds: 0 },
            ],
            analysis: FAST_ANALYSIS,
          })
          .expect(201);
        const watchFrom = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 4000));
        const verdicts = (await api(replicas[1]).events(created.body.id)).filter(
          (event) => event.type === 'verdict' && Date.parse(event.at) >= watchFrom,
        );
        // The time each verdict was judged at (the replica's clock when it took the canary's lock).
        const times = verdicts.map((event) => Date.parse((event.evidence as { at: string }).at));
        // Two replicas ticking every 250 ms: without coordination ~32 verdicts, some a few ms apart;
        // with it, one per tick period, never two within half a tick.
        expect(verdicts.length).toBeGreaterThanOrEqual(4);
        expect(verdicts.length).toBeLessThanOrEqual(18);
        for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(125);
        await authorized(replicas[0]).post(`/api/canaries/${created.body.id}/abort`).expect(200);
      } finally {
        await Promise.all(replicas.map((replica) => replica.close()));
      }
    },
    LONG,
  );
});

describe('guardrail: a hand-set variant that fails goes back to 0 without any canary', () => {
  it(
    'zeroes the variant weight (history source guardrail) and alerts',
    async () => {
      const database = await createTestDatabase();
      const webhook = await new WebhookServer().start();
      const gateway = await startTestApp({
        databaseUrl: database.url,
        env: { ...FAST_CANARY_ENV, ALERT_WEBHOOK_URL: webhook.url('/alerts'), GUARDRAIL_MIN_REQUESTS: '20' },
      });
      try {
        await authorized(gateway)
          .post('/api/flags')
          .send({
            key: 'chat-model',
            variants: { control: 'gemini-2.5-flash', treatment: 'deepseek-v3.2' },
            defaultVariant: 'control',
            rollout: { treatment: 50 },
          })
          .expect(201);
        await api(gateway).profile('deepseek-v3.2', { errorRate: 1 });
        const traffic = new Traffic(gateway, 'chat');
        try {
          await eventually(
            async () => ((await api(gateway).flag('chat-model')).rollout.treatment === 0 ? true : undefined),
            20_000,
            'weight 0',
          );
        } finally {
          await traffic.stop();
        }
        const [last] = await api(gateway).history('chat-model');
        expect(last).toMatchObject({ source: 'guardrail', actor: 'guardrail', action: 'rollout' });
        expect(last.reason).toMatch(/variant treatment failed \d+ of \d+ requests/);
        const alert = await eventually(
          () => webhook.received.find((hook) => (hook.json as { type: string }).type === 'flag.guardrail_tripped'),
          10_000,
        );
        expect(alert.json).toMatchObject({
          flag: 'chat-model',
          evidence: { variant: 'treatment', previousPercentage: 50 },
        });
        const rows = await queryRows<{ count: number }>(
          database.url,
          `SELECT count(*)::int AS count FROM alerts WHERE type = 'flag.guardrail_tripped'`,
        );
        expect(rows[0].count).toBe(1);
      } finally {
        await gateway.close();
        await webhook.stop();
        await database.drop();
      }
    },
    LONG,
  );
});

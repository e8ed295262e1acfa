import { createHmac, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { ALERT_SENDER_JOB } from '../src/alerts/alert-send.scheduler';
import { INSTANCE_ID } from '../src/canary/canary-transitions';
import type { CanaryDto } from '../src/canary/dto/canary.dto';
import { ManualClock } from '../src/common/manual-clock';
import { FlagChangeService } from '../src/flags/flag-change.service';
import {
  api as authorized,
  policiesFor,
  startTestApp,
  writeTestCatalog,
  type TestApp,
  type TestCatalog,
} from './support/test-app';
import { parsePrometheus, sumOf } from './support/prometheus';
import { createTestDatabase, queryRows } from './support/test-database';
import { atLeast, MetricRows, Traffic } from './support/traffic';
import { eventually, WebhookServer } from './support/webhook-server';
import { LATENCY_GUARDRAILS_OFF } from './support/canary-analysis';

/*
 * Time here is a ManualClock the test moves: the app's canary ticks run when the test advances it
 * (and the test awaits them), stages end when the test says so, and metric rows carry the clock's
 * time. Nothing waits for real time to pass; waiting is only for rows and webhooks to arrive.
 */

const SECRET = 'canary-test-webhook-secret';
const TICK_MS = 1000;
const CANARY_ENV = {
  CANARY_TICK_SECONDS: String(TICK_MS / 1000),
  METRICS_FLUSH_INTERVAL_MS: '20',
  ALERT_SEND_INTERVAL_MS: '100',
  ALERT_RETRY_BASE_MS: '100',
  ALERT_WEBHOOK_SECRET: SECRET,
  GATEWAY_MAX_RETRIES: '0',
  // Breakers would hide a failing model behind its fallbacks before the canary sees enough of it.
  GATEWAY_BREAKER_MIN_REQUESTS: '100000',
  GATEWAY_BREAKER_CONSECUTIVE_FAILURES: '100000',
};
const MIN_REQUESTS = 10;
const FAST_ANALYSIS = { minRequests: MIN_REQUESTS, guardrails: LATENCY_GUARDRAILS_OFF };
const STAGE_SECONDS = 60;
const ROLLOUT_STAGES = [
  ...[5, 15, 35, 65].map((percentage) => ({ percentage, durationSeconds: STAGE_SECONDS })),
  { percentage: 100, durationSeconds: 0 },
];
const LONG = 120_000;
/** A 5% stage long enough that no test here ends it, then 100%. */
const plan = {
  variant: 'treatment',
  stages: [
    { percentage: 5, durationSeconds: 300 },
    { percentage: 100, durationSeconds: 0 },
  ],
  analysis: FAST_ANALYSIS,
};

interface CanaryEvent {
  type: string;
  stage: number;
  instance: string;
  actor: string;
  at: string;
  evidence: Record<string, unknown> | null;
  message: string;
}

function api(app: TestApp) {
  return {
    createFlag: (key: string, variants: Record<string, string>) =>
      authorized(app).post('/api/flags').send({ key, variants, defaultVariant: 'control', rollout: {} }).expect(201),
    createCanary: (body: Record<string, unknown>) => authorized(app).post('/api/canaries').send(body),
    canary: async (id: string) => (await authorized(app).get(`/api/canaries/${id}`).expect(200)).body,
    events: async (id: string) =>
      (await authorized(app).get(`/api/canaries/${id}/events`).query({ limit: 500 }).expect(200)).body
        .items as CanaryEvent[],
    flag: async (key: string) => (await authorized(app).get(`/api/flags/${key}`).expect(200)).body,
    history: async (key: string) =>
      (await authorized(app).get(`/api/flags/${key}/history`).query({ limit: 200 }).expect(200)).body.items,
    profile: (model: string, profile: Record<string, unknown>) =>
      request(app.simulatorUrl).put(`/_simulator/profiles/${model}`).send(profile).expect(200),
  };
}

function verifySignature(raw: Buffer, header: unknown): boolean {
  return header === `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
}

describe('canary: staged rollouts judged on treatment vs control', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;
  let webhook: WebhookServer;
  let rows: MetricRows;
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    webhook = await new WebhookServer().start();
    gateway = await startTestApp({
      databaseUrl: database.url,
      // Canaries run only on flags a policy routes by.
      catalog: await writeTestCatalog(
        policiesFor(
          'quiet-flag',
          'plans-flag',
          'looks-flag',
          'owned-flag',
          'crowded-flag',
          'paused-flag',
          'lagging-flag',
        ),
      ),
      clock,
      env: { ...CANARY_ENV, ALERT_WEBHOOK_URL: webhook.url('/alerts') },
    });
    rows = await MetricRows.open(database.url);
  });
  afterAll(async () => {
    await rows?.close();
    await gateway?.close();
    await webhook?.stop();
    await database?.drop();
  });

  /** One tick period later, with the tick run to completion. */
  const tick = () => clock.advance(TICK_MS);

  /** Ticks until `done` holds (each tick's work finished before looking), at most `maxTicks` times. */
  async function tickUntil(id: string, done: (canary: any) => boolean, maxTicks: number) {
    for (let ticks = 0; ticks < maxTicks; ticks++) {
      await tick();
      const canary = await api(gateway).canary(id);
      if (done(canary)) return canary;
    }
    return api(gateway).canary(id);
  }

  /**
   * Waits until the current stage has `minRows` requests in each arm, then moves the clock to the
   * stage's end; a stage-end verdict that holds (a slow moment on a busy machine) gets a few more ticks.
   */
  async function finishStage(id: string, flag: string, minRows = MIN_REQUESTS) {
    const canary = await api(gateway).canary(id);
    await rows.waitFor(flag, canary.stage, { treatment: atLeast(minRows), control: atLeast(minRows) });
    await clock.advance(canary.stage.durationSeconds * 1000 - TICK_MS);
    return tickUntil(id, (now) => now.state !== 'running' || now.stage.index !== canary.stage.index, 5);
  }

  function webhooksOf(id: string, type?: string) {
    return webhook.received.filter((hook) => {
      const json = hook.json as { canary?: string; type?: string };
      return json.canary === id && (type === undefined || json.type === type);
    });
  }

  it(
    'moves a healthy treatment 5 -> 15 -> 35 -> 65 -> 100 and promotes it, in history, events and signed alerts',
    async () => {
      const { createFlag, createCanary, events, flag, history } = api(gateway);
      await createFlag('recommendations-model', { control: 'deepseek-v3.2', treatment: 'gemini-2.5-flash' });
      let traffic: Traffic | undefined;
      let id = '';
      try {
        const created = await createCanary({
          flagKey: 'recommendations-model',
          variant: 'treatment',
          stages: ROLLOUT_STAGES,
          analysis: FAST_ANALYSIS,
        }).expect(201);
        id = created.body.id;
        traffic = new Traffic(gateway, 'recommendations');
        expect(created.body).toMatchObject({
          state: 'running',
          controlVariant: 'control',
          stage: { index: 0, percentage: 5, startedAt: clock.now().toISOString() },
        });
        expect((await flag('recommendations-model')).rollout).toEqual({ treatment: 5 });
        for (const percentage of [15, 35, 65]) {
          const next = await finishStage(id, 'recommendations-model');
          expect(next).toMatchObject({ state: 'running', stage: { percentage } });
        }
        expect(await finishStage(id, 'recommendations-model')).toMatchObject({ state: 'promoted' });
      } finally {
        await traffic?.stop();
      }
      expect((await flag('recommendations-model')).rollout).toEqual({ treatment: 100 });

      const canaryRows = (await history('recommendations-model')).filter(
        (row: { source: string }) => row.source === 'canary',
      );
      expect(
        canaryRows.map((row: { after: { rollout: Record<string, number> } }) => row.after.rollout.treatment).reverse(),
      ).toEqual([5, 15, 35, 65, 100]);
      for (const row of canaryRows) expect(row.reason).toContain(`canary ${id} stage`);

      const all = await events(id);
      expect(all.filter((event) => event.type !== 'verdict').map((event) => event.type)).toEqual([
        'created',
        'started',
        'stage_advanced',
        'stage_advanced',
        'stage_advanced',
        'promoted',
      ]);
      const verdicts = all.filter((event) => event.type === 'verdict');
      expect(verdicts.length).toBeGreaterThanOrEqual(4);
      expect(verdicts.at(-1)!.evidence).toMatchObject({ decision: 'promote', outcome: 'pass', atStageEnd: true });

      const alerts = await eventually(async () => {
        await clock.run(ALERT_SENDER_JOB);
        return webhooksOf(id).length >= 5 ? webhooksOf(id) : undefined;
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
    "counts in a stage only the requests routed by its weights, not those a replica routed by the previous stage's",
    async () => {
      const { createFlag, createCanary, flag } = api(gateway);
      await createFlag('lagging-flag', { control: 'deepseek-v3.2', treatment: 'gpt-4.1' });
      const created = await createCanary({
        flagKey: 'lagging-flag',
        variant: 'treatment',
        stages: [
          { percentage: 50, durationSeconds: 300 },
          { percentage: 100, durationSeconds: 0 },
        ],
        analysis: FAST_ANALYSIS,
      }).expect(201);
      const { id, stage } = created.body as CanaryDto;
      expect(stage!.flagVersion).toBe((await flag('lagging-flag')).version);

      // A replica that has not heard of the canary yet: 200 requests in the stage's window, all control,
      // routed by the flag version before it. Counted, they would be a sample-ratio mismatch at 50%.
      await queryRows(
        database.url,
        `INSERT INTO request_metrics (id, at, request_id, flag, flag_version, variant, model, outcome, http_status,
                                      latency_ms, attempts, fallback, stream)
         SELECT gen_random_uuid(), $1, 'lagging-' || n, 'lagging-flag', $2, 'control', 'deepseek-v3.2', 'ok', 200,
                40, 1, false, false
           FROM generate_series(1, 200) AS n`,
        [stage!.startedAt, stage!.flagVersion! - 1],
      );
      const traffic = new Traffic(gateway, 'lagging-flag');
      try {
        await rows.waitFor('lagging-flag', stage!, {
          treatment: atLeast(MIN_REQUESTS),
          control: atLeast(MIN_REQUESTS),
        });
      } finally {
        await traffic.stop();
      }
      await rows.waitForAll('lagging-flag', stage!, traffic);
      // The gateway's own rows carry the version that routed them.
      expect(
        await queryRows(
          database.url,
          `SELECT DISTINCT flag_version FROM request_metrics WHERE flag = 'lagging-flag' AND request_id NOT LIKE 'lagging-%'`,
        ),
      ).toEqual([{ flag_version: stage!.flagVersion }]);

      await tick();
      const judged = await api(gateway).canary(id);
      const counted = {
        treatment: (await rows.arm('lagging-flag', 'treatment', stage!)).requests,
        control: (await rows.arm('lagging-flag', 'control', stage!)).requests,
      };
      expect(counted.control + counted.treatment).toBe(traffic.answered);
      expect(judged).toMatchObject({
        state: 'running',
        lastVerdict: {
          srm: { mismatch: false, requests: counted },
          n: { treatment: { requests: counted.treatment }, control: { requests: counted.control } },
        },
      });
      await authorized(gateway).post(`/api/canaries/${id}/abort`).expect(200);
    },
    LONG,
  );

  it(
    'rolls back a treatment that starts failing mid-rollout on the first tick that sees it, and alerts',
    async () => {
      const { createFlag, createCanary, events, flag, history, profile } = api(gateway);
      await createFlag('chat-model', { control: 'gemini-2.5-flash', treatment: 'deepseek-v3.2' });
      let traffic: Traffic | undefined;
      let id = '';
      try {
        const created = await createCanary({
          flagKey: 'chat-model',
          variant: 'treatment',
          stages: ROLLOUT_STAGES,
          analysis: FAST_ANALYSIS,
        }).expect(201);
        id = created.body.id;
        traffic = new Traffic(gateway, 'chat');
        const second = await finishStage(id, 'chat-model');
        expect(second).toMatchObject({ state: 'running', stage: { index: 1 } });
        // The treatment's model now fails every call; the chat policy's fallback rescues the users,
        // which the canary counts against the treatment.
        await profile('deepseek-v3.2', { errorRate: 1 });
        await rows.waitFor('chat-model', second.stage, {
          // Enough failures that a confidence sequence valid at every look (wide on a few rows from
          // a few users) lies past the 1 pp margin: then one tick rolls back.
          treatment: (arm) => arm.failures >= 30 && arm.failures > 0.8 * arm.requests,
          control: atLeast(MIN_REQUESTS),
        });
        await tick();
        const done = await api(gateway).canary(id);
        expect(done.state).toBe('rolled_back');
        expect(done.lastVerdict).toMatchObject({ decision: 'rollback', outcome: 'fail' });
        const errorRate = done.lastVerdict.metrics.find((metric: { metric: string }) => metric.metric === 'errorRate');
        expect(errorRate).toMatchObject({ status: 'harm', controlDegraded: false });
        expect(errorRate.treatment.estimate).toBeGreaterThan(0.5);
        expect(errorRate.interval[0]).toBeGreaterThan(0.01);
        expect(done.lastVerdict.sentence).toMatch(/^rolled back in stage 2 \(15%\): error rate \+\d+\.\d pp/);
      } finally {
        await traffic?.stop();
        await profile('deepseek-v3.2', { errorRate: 0 });
      }
      expect((await flag('chat-model')).rollout).toEqual({ treatment: 0 });
      const last = (await history('chat-model'))[0];
      expect(last).toMatchObject({ source: 'canary', actor: 'canary-executor' });
      expect(last.reason).toMatch(/rolled back/);
      expect((await events(id)).map((event) => event.type)).toContain('rolled_back');
      const alert = await eventually(async () => {
        await clock.run(ALERT_SENDER_JOB);
        return webhooksOf(id, 'canary.rolled_back')[0];
      }, 10_000);
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
      // A healthy hour before: the control's baseline (the flag's rollout is empty, all of it control).
      const before = clock.now().toISOString();
      let traffic = new Traffic(gateway, 'fraud');
      try {
        await rows.waitFor('fraud-model', before, { control: atLeast(100) });
      } finally {
        await traffic.stop();
      }
      await rows.waitForAll('fraud-model', before, traffic);
      await clock.advance(6 * 60_000);
      // Then the provider degrades both models alike.
      await profile('claude-sonnet-4.5', { errorRate: 0.3 });
      await profile('gpt-4.1', { errorRate: 0.3 });
      const created = await createCanary({
        flagKey: 'fraud-model',
        variant: 'treatment',
        stages: [
          { percentage: 50, durationSeconds: STAGE_SECONDS },
          { percentage: 100, durationSeconds: 0 },
        ],
        analysis: FAST_ANALYSIS,
      }).expect(201);
      const id = created.body.id;
      traffic = new Traffic(gateway, 'fraud');
      try {
        const unwell = (arm: { requests: number; failures: number }) => arm.requests >= 100 && arm.failures >= 15;
        await rows.waitFor('fraud-model', created.body.stage, { treatment: unwell, control: unwell });
      } finally {
        await traffic.stop();
        await profile('claude-sonnet-4.5', { errorRate: 0 });
        await profile('gpt-4.1', { errorRate: 0 });
      }
      // Every answered request's row is stored: each tick below judges the same window.
      await rows.waitForAll('fraud-model', created.body.stage, traffic);
      // The stage's time is up: an advance would be due, but the control is unwell.
      await clock.advance(STAGE_SECONDS * 1000);
      expect((await events(id)).map((event) => event.type)).toContain('held');
      // Keep judging: every verdict holds, nothing is rolled back or advanced.
      for (let i = 0; i < 5; i++) await tick();
      const verdicts = (await events(id)).filter((event) => event.type === 'verdict');
      expect(verdicts).toHaveLength(6);
      for (const verdict of verdicts) expect(verdict.evidence).toMatchObject({ outcome: 'hold', decision: 'hold' });
      expect((await events(id)).filter((event) => event.type === 'held')).toHaveLength(1);

      const canary = await api(gateway).canary(id);
      expect(canary.state).toBe('running');
      const degraded = canary.lastVerdict.degradation.find((check: { key: string }) => check.key === 'errorRate');
      expect(degraded).toMatchObject({ degraded: true });
      expect(degraded.recent).toBeGreaterThan(0.1);
      expect((await flag('fraud-model')).rollout).toEqual({ treatment: 50 });
      await eventually(async () => {
        await clock.run(ALERT_SENDER_JOB);
        return webhooksOf(id, 'canary.held')[0];
      }, 10_000);
      await authorized(gateway).post(`/api/canaries/${id}/abort`).send({ reason: 'test over' }).expect(200);
      expect((await flag('fraud-model')).rollout).toEqual({ treatment: 0 });
    },
    LONG,
  );

  it(
    'keeps operators off the weights of a flag while its canary runs (not off kill); a pause hands the flag back',
    async () => {
      const { createFlag, createCanary, flag, history } = api(gateway);
      await createFlag('owned-flag', { control: 'deepseek-v3.2', treatment: 'gpt-4.1' });
      const id = (await createCanary({ flagKey: 'owned-flag', ...plan }).expect(201)).body.id;
      const before = await flag('owned-flag');
      const refused: Array<[string, string, Record<string, unknown>, string]> = [
        [
          'put',
          '/api/flags/owned-flag/rollout',
          { version: before.version, rollout: { treatment: 50 } },
          'set the rollout of',
        ],
        [
          'patch',
          '/api/flags/owned-flag',
          { version: before.version, defaultVariant: 'treatment' },
          'change defaultVariant of',
        ],
        ['patch', '/api/flags/owned-flag', { version: before.version, salt: 'reshuffle' }, 'change salt of'],
        ['delete', '/api/flags/owned-flag', {}, 'archive'],
      ];
      for (const [method, path, body, change] of refused) {
        const response = await authorized(gateway)[method as 'put'](path).send(body);
        expect([method, path, response.status, response.body]).toEqual([
          method,
          path,
          409,
          expect.objectContaining({
            code: 'flag_owned',
            message: expect.stringContaining(`cannot ${change} flag "owned-flag" while canary ${id}`),
          }),
        ]);
      }
      expect(await flag('owned-flag')).toEqual(before);
      // What does not move traffic between the arms stays the operator's; so does the emergency stop.
      await authorized(gateway)
        .patch('/api/flags/owned-flag')
        .send({ version: before.version, description: 'under a canary' })
        .expect(200);
      await authorized(gateway).post('/api/flags/owned-flag/kill').send({ reason: 'paging' }).expect(200);
      await authorized(gateway).post('/api/flags/owned-flag/enable').send({}).expect(200);

      // Paused, the flag is the operators' again; the resume puts the stage's 5% back.
      await authorized(gateway).post(`/api/canaries/${id}/pause`).send({}).expect(200);
      const paused = await flag('owned-flag');
      await authorized(gateway)
        .put('/api/flags/owned-flag/rollout')
        .send({ version: paused.version, rollout: { treatment: 40 } })
        .expect(200);
      await authorized(gateway).post(`/api/canaries/${id}/resume`).send({}).expect(200);
      expect((await flag('owned-flag')).rollout).toEqual({ treatment: 5 });
      expect((await history('owned-flag')).slice(0, 2)).toEqual([
        expect.objectContaining({
          source: 'canary',
          action: 'rollout',
          after: expect.objectContaining({ rollout: { treatment: 5 } }),
        }),
        expect.objectContaining({ source: 'canary', action: 'note', reason: expect.stringContaining('resumed') }),
      ]);

      // Archived while paused: nothing to move back, and the canary still ends instead of being stuck.
      await authorized(gateway).post(`/api/canaries/${id}/pause`).send({}).expect(200);
      await authorized(gateway).delete('/api/flags/owned-flag').send({}).expect(200);
      // Resume and promote cannot move it: the answer says abort is the way out.
      for (const action of ['resume', 'promote']) {
        const refused = await authorized(gateway).post(`/api/canaries/${id}/${action}`).send({}).expect(409);
        expect(refused.body).toMatchObject({
          code: 'flag_archived',
          message:
            `canary ${id} cannot ${action}: its flag "owned-flag" is archived, and an archived flag's traffic ` +
            `cannot move; abort the canary (POST /api/canaries/${id}/abort) to end it`,
        });
      }
      await authorized(gateway).post(`/api/canaries/${id}/abort`).send({ reason: 'flag archived' }).expect(200);
      expect(await api(gateway).canary(id)).toMatchObject({ state: 'aborted' });
    },
    LONG,
  );

  it(
    'creates nothing when the flag refuses the first stage, and says which variant holds the weight',
    async () => {
      await authorized(gateway)
        .post('/api/flags')
        .send({
          key: 'crowded-flag',
          variants: { control: 'deepseek-v3.2', treatment: 'gpt-4.1', spare: 'gemini-2.5-flash' },
          defaultVariant: 'control',
          rollout: { spare: 100 },
        })
        .expect(201);
      const refused = await api(gateway).createCanary({ flagKey: 'crowded-flag', ...plan });
      expect([refused.status, refused.body.code]).toEqual([400, 'flag_rollout_refused']);
      expect(refused.body.message).toContain(
        'treatment at 5%: rollout adds up to 105%, more than 100 (spare 100% already)',
      );
      expect((await authorized(gateway).get('/api/canaries?flagKey=crowded-flag').expect(200)).body.items).toEqual([]);
      // Once the weight is free, the same create goes through.
      const flag = (await authorized(gateway).get('/api/flags/crowded-flag').expect(200)).body;
      await authorized(gateway)
        .put('/api/flags/crowded-flag/rollout')
        .send({ version: flag.version, rollout: {} })
        .expect(200);
      const created = await api(gateway)
        .createCanary({ flagKey: 'crowded-flag', ...plan })
        .expect(201);
      await authorized(gateway).post(`/api/canaries/${created.body.id}/abort`).send({}).expect(200);
    },
    LONG,
  );

  it(
    'waits while there is too little traffic, extends the stage, then pauses and alerts',
    async () => {
      const { createFlag, createCanary, events } = api(gateway);
      await createFlag('quiet-flag', { control: 'deepseek-v3.2', treatment: 'gpt-4.1' });
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
      const id = created.body.id;
      // 1 s: the stage is up but lacks data, and one extension (another 1 s) is allowed.
      await tick();
      expect(await api(gateway).canary(id)).toMatchObject({ state: 'running', lastVerdict: { decision: 'wait' } });
      await tick();
      const paused = await api(gateway).canary(id);
      expect(paused.state).toBe('paused');
      expect(paused.stage.elapsedSeconds).toBeGreaterThanOrEqual(2);
      const verdicts = (await events(id)).filter((event) => event.type === 'verdict');
      expect(verdicts).toHaveLength(2);
      for (const verdict of verdicts) expect(verdict.evidence).toMatchObject({ outcome: 'insufficient_data' });
      await eventually(async () => {
        await clock.run(ALERT_SENDER_JOB);
        return webhooksOf(id, 'canary.paused')[0];
      }, 10_000);
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
      const created = await createCanary({
        flagKey: 'recommendations-model',
        variant: 'treatment',
        stages: [
          { percentage: 5, durationSeconds: STAGE_SECONDS },
          { percentage: 20, durationSeconds: STAGE_SECONDS },
          { percentage: 100, durationSeconds: 0 },
        ],
        analysis: { minRequests: 3 },
      }).expect(201);
      const id = created.body.id;
      const traffic = new Traffic(gateway, 'recommendations');
      try {
        const paused = await finishStage(id, 'recommendations-model', 3);
        expect(paused.state).toBe('paused');
      } finally {
        await traffic.stop();
      }
      const last = (await events(id)).at(-1)!;
      expect(last).toMatchObject({ type: 'paused', actor: 'canary-executor' });
      expect(last.message).toMatch(/could not advance .*the flag refused the weight change: .*rollout adds up to 110%/);
      await eventually(async () => {
        await clock.run(ALERT_SENDER_JOB);
        return webhooksOf(id, 'canary.paused')[0];
      }, 10_000);
      expect((await flag('recommendations-model')).rollout).toEqual({ other: 90, treatment: 5 });
      await authorized(gateway).post(`/api/canaries/${id}/abort`).expect(200);
    },
    LONG,
  );

  it(
    'promotes without a history row when the flag already has the treatment at 100 (a crash between the two writes)',
    async () => {
      const { createCanary, events, flag, history } = api(gateway);
      await authorized(gateway)
        .post('/api/flags')
        .send({
          key: 'chat-model',
          variants: { control: 'gemini-2.5-flash', treatment: 'deepseek-v3.2' },
          defaultVariant: 'control',
        })
        .expect((response) => expect([201, 409]).toContain(response.status));
      const created = await createCanary({
        flagKey: 'chat-model',
        variant: 'treatment',
        stages: [
          { percentage: 50, durationSeconds: STAGE_SECONDS },
          { percentage: 100, durationSeconds: 0 },
        ],
        analysis: FAST_ANALYSIS,
      }).expect(201);
      const id = created.body.id;
      const traffic = new Traffic(gateway, 'chat');
      try {
        await rows.waitFor('chat-model', created.body.stage, {
          treatment: atLeast(MIN_REQUESTS),
          control: atLeast(MIN_REQUESTS),
        });
      } finally {
        await traffic.stop();
      }
      // The promotion's flag write went through, then the process died before the canary's update:
      // the write the promotion makes (the operator API refuses weights under a running canary).
      const before = await flag('chat-model');
      await gateway.app
        .get(FlagChangeService)
        .setVariantWeight('chat-model', 'treatment', 100, { actor: `canary:${id}`, source: 'canary' });
      const historyBefore = await history('chat-model');

      await clock.advance(STAGE_SECONDS * 1000 - TICK_MS);
      const promoted = await tickUntil(id, (canary) => canary.state !== 'running', 5);
      // With the last verdict beside the state: a failure says why the stage did not pass (it failed
      // once in a full parallel run, never alone under load, and nothing else recorded the reason).
      expect({ state: promoted.state, lastVerdict: promoted.lastVerdict }).toMatchObject({ state: 'promoted' });
      expect((await events(id)).map((event) => event.type)).toContain('promoted');
      const after = await flag('chat-model');
      expect(after).toMatchObject({ rollout: { treatment: 100 }, version: before.version + 1 });
      expect(await history('chat-model')).toEqual(historyBefore);
    },
    LONG,
  );

  it(
    'refuses bad plans with 400s naming the field, a second active canary with 409, illegal actions with 409',
    async () => {
      const { createCanary } = api(gateway);
      await api(gateway).createFlag('plans-flag', { control: 'deepseek-v3.2', treatment: 'gpt-4.1' });
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
        [{ flagKey: 'plans-flag', variant: 'treatment', analysis: { alpha: 2 } }, /analysis\.alpha must be/],
        [
          { flagKey: 'plans-flag', variant: 'treatment', analysis: { alfa: 0.1 } },
          /analysis\.alfa is not a canary analysis setting/,
        ],
        [
          { flagKey: 'plans-flag', variant: 'treatment', analysis: { maxErrorRate: 0.02 } },
          /analysis\.maxErrorRate is no longer a setting: judged against the control now/,
        ],
        [
          { flagKey: 'plans-flag', variant: 'treatment', alertWebhookUrl: 'ftp://x' },
          /alertWebhookUrl must be an http\(s\) URL/,
        ],
      ];
      for (const [body, message] of bad) {
        const response = await createCanary(body).expect(400);
        expect([response.body.message].flat().join('; ')).toMatch(message);
      }
      const twoProblems = await createCanary({
        flagKey: 'plans-flag',
        variant: 'nope',
        analysis: { guardrails: { errorRate: { absolute: 2 } } },
      }).expect(400);
      expect(twoProblems.body).toMatchObject({ statusCode: 400, code: 'canary_invalid' });
      expect(twoProblems.body.details).toEqual([
        expect.stringMatching(/^analysis\.guardrails\.errorRate\.absolute must be a rate/),
        expect.stringMatching(/^variant: flag "plans-flag" has no variant "nope"/),
      ]);

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
      expect(second.body).toMatchObject({ code: 'canary_already_active' });
      expect(second.body.message).toMatch(/already has an active canary/);

      const id = pending.body.id;
      // Left out, no reason is recorded; a blank one would be recorded as an empty reason.
      for (const reason of ['', ' \n ']) {
        const blank = await authorized(gateway).post(`/api/canaries/${id}/start`).send({ reason }).expect(400);
        expect(blank.body).toMatchObject({
          code: 'validation_failed',
          message: 'reason must not be blank; leave it out for none',
        });
      }
      const resume = await authorized(gateway).post(`/api/canaries/${id}/resume`).expect(409);
      expect(resume.body).toMatchObject({ code: 'canary_state_conflict' });
      expect(resume.body.message).toMatch(/is pending; resume applies only to a canary that is paused/);
      const unknown = await authorized(gateway).post(`/api/canaries/${id}/explode`).expect(400);
      expect(unknown.body).toMatchObject({ code: 'canary_action_unknown' });
      const missing = await authorized(gateway).post(`/api/canaries/${randomUUID()}/start`).expect(404);
      expect(missing.body).toMatchObject({ code: 'canary_not_found' });
      // As for every resource with UUID ids: a malformed id is a mistake to fix, not a canary to look for.
      for (const bad of ['not-a-uuid', '-'.repeat(36), `${id}x`]) {
        const calls = [
          authorized(gateway).get(`/api/canaries/${bad}`),
          authorized(gateway).get(`/api/canaries/${bad}/events`),
          authorized(gateway).get(`/api/canaries/${bad}/shadow-pairs`),
          authorized(gateway).post(`/api/canaries/${bad}/pause`),
        ];
        for (const call of calls)
          expect((await call.expect(400)).body).toMatchObject({
            code: 'validation_failed',
            message: 'id must be a canary id (a UUID)',
          });
      }

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
      // A webhook reader tells the resume from a start by its type, not by reading the message.
      const alerts = await queryRows<{ type: string }>(
        database.url,
        'SELECT type FROM alerts WHERE canary_id = $1 ORDER BY type',
        [id],
      );
      expect(alerts.map((alert) => alert.type)).toEqual([
        'canary.paused',
        'canary.promoted',
        'canary.resumed',
        'canary.started',
      ]);
    },
    LONG,
  );

  it(
    'thins the looks that decided to wait to one per clock slice on request (quietEvery), in pages and polls alike',
    async () => {
      const { createFlag, createCanary, events } = api(gateway);
      await createFlag('looks-flag', { control: 'deepseek-v3.2', treatment: 'gpt-4.1' });
      const created = await createCanary({
        flagKey: 'looks-flag',
        variant: 'treatment',
        stages: [
          { percentage: 10, durationSeconds: 3_600 },
          { percentage: 100, durationSeconds: 0 },
        ],
        analysis: { minRequests: 1_000_000 },
      }).expect(201);
      const id = created.body.id as string;
      // A look per tick (1 s), each deciding to wait for data.
      for (let i = 0; i < 23; i++) await tick();
      await authorized(gateway).post(`/api/canaries/${id}/pause`).send({ reason: 'enough looks' }).expect(200);

      const all = await events(id);
      const isQuiet = (event: CanaryEvent) => event.type === 'verdict' && event.evidence?.decision === 'wait';
      expect(all.filter(isQuiet).length).toBeGreaterThanOrEqual(23);
      const firstOfSlice = new Set<string>();
      const expected = all.filter((event) => {
        if (!isQuiet(event)) return true;
        const slice = String(Math.floor(Date.parse(event.at) / 5_000));
        if (firstOfSlice.has(slice)) return false;
        firstOfSlice.add(slice);
        return true;
      });
      expect(expected.filter(isQuiet).length).toBeLessThanOrEqual(6);

      const thinned = await authorized(gateway)
        .get(`/api/canaries/${id}/events`)
        .query({ quietEvery: 5, limit: 500 })
        .expect(200);
      expect(thinned.body.items).toEqual(expected);
      expect(thinned.body.items.map((event: CanaryEvent) => event.type)).toEqual(
        expect.arrayContaining(['created', 'started', 'paused']),
      );
      // Paged two at a time, as a page that polls with `after` reads it: the same events.
      const paged: CanaryEvent[] = [];
      for (let after: number | null = 0; after !== null;) {
        const page: { body: { items: CanaryEvent[]; nextAfter: number | null } } = await authorized(gateway)
          .get(`/api/canaries/${id}/events`)
          .query({ quietEvery: 5, limit: 2, after })
          .expect(200);
        paged.push(...page.body.items);
        after = page.body.nextAfter;
      }
      expect(paged).toEqual(expected);

      const refused = await authorized(gateway).get(`/api/canaries/${id}/events`).query({ quietEvery: 0 }).expect(400);
      expect(refused.body.message).toBe('quietEvery must be an integer between 1 and 86400');
    },
    LONG,
  );

  it(
    "stops a paused stage's time: it stands still while paused, and a resume starts the stage again",
    async () => {
      const { createFlag, createCanary } = api(gateway);
      await createFlag('paused-flag', { control: 'deepseek-v3.2', treatment: 'gpt-4.1' });
      const created = await createCanary({
        flagKey: 'paused-flag',
        variant: 'treatment',
        stages: [
          { percentage: 10, durationSeconds: 3_600 },
          { percentage: 100, durationSeconds: 0 },
        ],
        analysis: FAST_ANALYSIS,
      }).expect(201);
      const id = created.body.id as string;
      await clock.advance(60_000);
      await authorized(gateway).post(`/api/canaries/${id}/pause`).send({ reason: 'a closer look' }).expect(200);
      expect((await api(gateway).canary(id)).stage).toMatchObject({ elapsedSeconds: 60 });
      await clock.advance(600_000);
      expect((await api(gateway).canary(id)).stage).toMatchObject({
        startedAt: created.body.stage.startedAt,
        elapsedSeconds: 60,
      });

      await authorized(gateway).post(`/api/canaries/${id}/resume`).send({ reason: 'looked' }).expect(200);
      const resumedAt = clock.now().toISOString();
      await clock.advance(5_000);
      expect((await api(gateway).canary(id)).stage).toMatchObject({ startedAt: resumedAt, elapsedSeconds: 5 });
      await authorized(gateway).post(`/api/canaries/${id}/abort`).expect(200);
    },
    LONG,
  );
});

describe('canary: state lives in Postgres — restarts resume, replicas take turns', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let catalog: TestCatalog;

  beforeAll(async () => {
    database = await createTestDatabase();
    catalog = await writeTestCatalog(policiesFor('replicated-flag'));
  });
  afterAll(async () => {
    await database?.drop();
  });

  it(
    'resumes the same stage with the same start time after a restart',
    async () => {
      const before = new ManualClock();
      const first = await startTestApp({ databaseUrl: database.url, catalog, env: CANARY_ENV, clock: before });
      let id: string;
      let startedAt: string;
      try {
        await api(first).createFlag('recommendations-model', {
          control: 'deepseek-v3.2',
          treatment: 'gemini-2.5-flash',
        });
        const created = await api(first)
          .createCanary({ flagKey: 'recommendations-model', ...plan })
          .expect(201);
        id = created.body.id;
        startedAt = created.body.stage.startedAt;
        await before.advance(TICK_MS);
      } finally {
        await first.close();
      }
      // Down for 30 s; the new process's first tick judges the same stage, started when it was.
      const after = new ManualClock(before.nowMs() + 30_000);
      const second = await startTestApp({ databaseUrl: database.url, catalog, env: CANARY_ENV, clock: after });
      try {
        await after.advance(TICK_MS);
        const canary = await api(second).canary(id);
        expect(canary).toMatchObject({ state: 'running', stage: { index: 0, percentage: 5, startedAt } });
        expect(canary.lastVerdict).toMatchObject({
          at: after.now().toISOString(),
          window: { from: startedAt, to: after.now().toISOString() },
        });
        expect(canary.stage.elapsedSeconds).toBe(32);
        await authorized(second).post(`/api/canaries/${id}/abort`).expect(200);
      } finally {
        await second.close();
      }
    },
    LONG,
  );

  it(
    'gives each tick period exactly one verdict, whichever replica ticks and however their timers are phased',
    async () => {
      const start = Date.now();
      const clocks = [new ManualClock(start), new ManualClock(start)];
      // Each replica runs its own simulator, so each needs a catalog with its own port.
      const replicas = [
        await startTestApp({ databaseUrl: database.url, catalog, env: CANARY_ENV, clock: clocks[0] }),
        await startTestApp({
          databaseUrl: database.url,
          catalog: await writeTestCatalog(policiesFor('replicated-flag')),
          env: CANARY_ENV,
          clock: clocks[1],
        }),
      ];
      try {
        await api(replicas[0]).createFlag('replicated-flag', { control: 'deepseek-v3.2', treatment: 'gpt-4.1' });
        const created = await api(replicas[0])
          .createCanary({ flagKey: 'replicated-flag', ...plan })
          .expect(201);
        const id = created.body.id;
        const periods = 8;
        for (let period = 1; period <= periods; period++) {
          const periodStart = start - (start % TICK_MS) + period * TICK_MS;
          if (period % 2 === 1) {
            // Both replicas' timers fire at the same moment: they race for the canary.
            await Promise.all(clocks.map((clock) => clock.advanceTo(periodStart + 10)));
          } else {
            // The incident: timers 510 ms (over half a tick) apart, both inside one period...
            await clocks[0].advanceTo(periodStart + 10);
            await clocks[1].advanceTo(periodStart + 520);
            // ...and a timer that drifted, firing a second time before the period ends.
            await clocks[0].advanceTo(periodStart + 990);
            await clocks[0].run('canary-tick');
          }
        }
        const verdicts = (await api(replicas[1]).events(id)).filter((event) => event.type === 'verdict');
        const slots = verdicts.map((event) => (event.evidence as { slotStart: string }).slotStart);
        expect(slots).toHaveLength(periods);
        expect(new Set(slots).size).toBe(periods);
        await authorized(replicas[0]).post(`/api/canaries/${id}/abort`).expect(200);
      } finally {
        await Promise.all(replicas.map((replica) => replica.close()));
      }
    },
    LONG,
  );
});

describe('canary: a tick that fails on one canary', () => {
  it(
    'still judges the canaries after it, counts its failures on /metrics, shows it as stalled and why, and alerts once',
    async () => {
      const database = await createTestDatabase();
      const clock = new ManualClock();
      const app = await startTestApp({
        databaseUrl: database.url,
        catalog: await writeTestCatalog(policiesFor('stuck-flag', 'steady-flag')),
        // A statement waiting on a lock fails after 2 s instead of holding the tick for a minute.
        env: { ...CANARY_ENV, DATABASE_STATEMENT_TIMEOUT_MS: '2000' },
        clock,
      });
      const locker = new Client({ connectionString: database.url });
      try {
        const ids: string[] = [];
        for (const flagKey of ['stuck-flag', 'steady-flag']) {
          await api(app).createFlag(flagKey, { control: 'deepseek-v3.2', treatment: 'gpt-4.1' });
          ids.push(
            (
              await api(app)
                .createCanary({ flagKey, ...plan })
                .expect(201)
            ).body.id,
          );
        }
        const [stuck, steady] = ids;
        const failures = async (id: string) =>
          sumOf(
            parsePrometheus((await authorized(app).get('/metrics').expect(200)).text),
            'switchyard_canary_tick_failures_total',
            { canary: id },
          );

        // Another session holds the first canary's row: its tick cannot claim the period.
        await locker.connect();
        await locker.query('BEGIN');
        await locker.query('SELECT 1 FROM canaries WHERE id = $1 FOR UPDATE', [stuck]);
        await clock.advance(TICK_MS);
        expect((await api(app).canary(steady)).lastVerdict).toMatchObject({ at: clock.now().toISOString() });
        expect((await api(app).canary(stuck)).lastVerdict).toBeNull();
        expect(await failures(stuck)).toBe(1);
        expect(await failures(steady)).toBe(0);
        // Three tick periods without a verdict: the API says the canary is stalled, and since when.
        const startedAt = (await api(app).canary(stuck)).updatedAt;
        expect((await api(app).canary(stuck)).stalled).toBeNull();
        await clock.advance(TICK_MS);
        await clock.advance(TICK_MS);
        expect(await failures(stuck)).toBe(3);
        // And why: the last tick's failure, as the replica logged it, and which replica that was.
        const stalled = {
          since: startedAt,
          missedTicks: 3,
          lastFailure: {
            at: clock.now().toISOString(),
            reason: 'canceling statement due to statement timeout',
            instance: INSTANCE_ID,
          },
        };
        expect((await api(app).canary(stuck)).stalled).toEqual(stalled);
        const listed = (await authorized(app).get('/api/canaries?state=running').expect(200)).body.items as CanaryDto[];
        expect(listed.find((canary) => canary.id === stuck)?.stalled).toEqual(stalled);
        expect((await api(app).canary(steady)).stalled).toBeNull();
        expect(
          await queryRows(database.url, 'SELECT canary_id, reason FROM canary_tick_failures ORDER BY canary_id'),
        ).toEqual([{ canary_id: stuck, reason: stalled.lastFailure.reason }]);
        // It can neither roll back nor advance: on-call hears of it, once per stall however long it lasts.
        const stalledAlerts = async () =>
          (await authorized(app).get('/api/alerts').query({ type: 'canary.stalled' }).expect(200)).body.items;
        const expectedAlert = {
          type: 'canary.stalled',
          severity: 'critical',
          flag: 'stuck-flag',
          canary: stuck,
          message:
            `canary stuck-flag: no tick has judged it since ${startedAt} (3 tick periods); the last failed on ` +
            `${INSTANCE_ID}: canceling statement due to statement timeout. It neither rolls back nor advances until a tick succeeds.`,
        };
        expect(await stalledAlerts()).toEqual([expect.objectContaining(expectedAlert)]);
        await clock.advance(TICK_MS);
        expect((await api(app).canary(stuck)).stalled).toMatchObject({ since: startedAt, missedTicks: 4 });
        expect(await stalledAlerts()).toEqual([expect.objectContaining(expectedAlert)]);

        await locker.query('ROLLBACK');
        await clock.advance(TICK_MS);
        const judged = await api(app).canary(stuck);
        expect(judged.lastVerdict).toMatchObject({ at: clock.now().toISOString() });
        expect(judged).toMatchObject({ lastTickAt: clock.now().toISOString(), stalled: null });
        expect(await failures(stuck)).toBe(4);
      } finally {
        await locker.end();
        await app.close();
        await database.drop();
      }
    },
    LONG,
  );
});

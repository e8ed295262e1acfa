import request from 'supertest';
import { dollars } from '@switchyard/stats';
import { ManualClock } from '../src/common/manual-clock';
import {
  BudgetQueryCounter,
  chat,
  createBudget,
  createKey,
  MAX_TOKENS,
  pico,
  picoOfUsd,
  PROMPT_BOUND_TOKENS,
  SIMULATED_PROMPT_TOKENS,
  usd,
} from './support/budgets';
import { api, startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { eventually } from './support/webhook-server';

/*
 * Spend budgets on one replica, on a ManualClock: leases are synced (spend settled into the shared
 * ledger) and alerts looked for only when the test moves the clock, so every figure checked here is
 * exact. The three-replica and killed-replica cases are in budgets-replicas.e2e-spec.ts.
 */

const SYNC_MS = 200;
const WATCH_MS = 10_000;
const ENV = {
  BUDGET_SYNC_MS: String(SYNC_MS),
  BUDGET_WATCH_SECONDS: String(WATCH_MS / 1000),
  METRICS_FLUSH_INTERVAL_MS: '20',
  GATEWAY_MAX_RETRIES: '0',
  GUARDRAIL_ENABLED: 'false',
};
const DAY_MS = 86_400_000;
/** 10:00 UTC today: the day's budget period has hours on either side. */
const T0 = Math.floor(Date.now() / DAY_MS) * DAY_MS + 10 * 3_600_000;
const TOMORROW = new Date(Math.floor(T0 / DAY_MS) * DAY_MS + DAY_MS).toISOString();
const GPT = { input: 2, output: 8 };
const CLAUDE = { input: 3, output: 15 };
const worstOf = (price: { input: number; output: number }) =>
  pico(PROMPT_BOUND_TOKENS, price.input) + pico(MAX_TOKENS, price.output);
const costOf = (price: { input: number; output: number }) =>
  pico(SIMULATED_PROMPT_TOKENS, price.input) + pico(MAX_TOKENS, price.output);
const asLimit = (picodollars: bigint) => Number(usd(picodollars));
/** Picodollars as messages write them: $12,345.68, or three significant digits below a dollar. */
const written = (picodollars: bigint) => dollars(Number(usd(picodollars)));
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\$]/g, '\\$&');

describe('budgets: limits that hold exactly, actions when spent, alerts, reports', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;
  const clock = new ManualClock(T0);
  let canaryId = '';
  let treatmentUser = '';
  let controlUser = '';

  const sync = () => clock.advance(SYNC_MS);
  const watch = () => clock.advance(WATCH_MS);

  async function spentOf(budgetId: string): Promise<bigint> {
    const rows = await queryRows<{ spent: string }>(
      database.url,
      'SELECT spent_usd::text AS spent FROM budget_periods WHERE budget_id = $1 ORDER BY period_start DESC LIMIT 1',
      [budgetId],
    );
    return rows.length === 0 ? 0n : picoOfUsd(rows[0].spent);
  }

  /** The budget's row as stored (undefined once deleted): what every replica and the next reader get. */
  async function rowOf(budgetId: string) {
    const rows = await queryRows<{ limit_usd: string; on_exhausted: string; version: number; updated_at: Date }>(
      database.url,
      'SELECT limit_usd::text AS limit_usd, on_exhausted, version, updated_at FROM budgets WHERE id = $1',
      [budgetId],
    );
    return rows[0];
  }

  async function metricRow(requestId: string) {
    return eventually(
      async () =>
        (
          await queryRows<Record<string, unknown>>(
            database.url,
            'SELECT * FROM request_metrics WHERE request_id = $1',
            [requestId],
          )
        )[0],
      10_000,
      `the metric row of ${requestId}`,
    );
  }

  async function alertsOf(budgetId: string, type: string) {
    return queryRows<{ message: string; evidence: Record<string, unknown>; dedup_key: string }>(
      database.url,
      `SELECT message, evidence, dedup_key FROM alerts WHERE type = $1 AND evidence->>'budget' = $2 ORDER BY created_at, id`,
      [type, budgetId],
    );
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    gateway = await startTestApp({ databaseUrl: database.url, clock, env: ENV });
    await api(gateway)
      .post('/api/flags')
      .send({
        key: 'chat-model',
        variants: { control: 'gemini-2.5-flash', treatment: 'gpt-4.1' },
        defaultVariant: 'control',
      })
      .expect(201);
    const canary = await api(gateway)
      .post('/api/canaries')
      .send({
        flagKey: 'chat-model',
        variant: 'treatment',
        stages: [
          { percentage: 50, durationSeconds: 7 * 86_400 },
          { percentage: 100, durationSeconds: 0 },
        ],
        analysis: { minRequests: 1_000_000 },
      })
      .expect(201);
    canaryId = canary.body.id;
    for (let user = 0; !(treatmentUser && controlUser); user++) {
      const { body } = await api(gateway)
        .post('/api/flags/chat-model/evaluate')
        .send({ userId: `user-${user}` })
        .expect(200);
      if (body.variant === 'treatment') treatmentUser ||= `user-${user}`;
      else controlUser ||= `user-${user}`;
    }
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  }, 30_000);

  it.each([
    ['key', GPT],
    ['policy', CLAUDE],
    ['canary', GPT],
  ] as const)(
    'refuses at exactly the limit, and admits a worst case that fits exactly (%s budget)',
    async (scope, price) => {
      const { id: keyId, key } = await createKey(gateway, `exact-${scope}`);
      const target = { key: keyId, policy: 'fraud', canary: canaryId }[scope];
      const send = () =>
        scope === 'key'
          ? chat(gateway, key)
          : scope === 'policy'
            ? chat(gateway, key, { model: 'route:fraud' })
            : chat(gateway, key, { model: 'route:chat' }, { 'x-user-id': treatmentUser });
      const budget = await createBudget(gateway, { scope, target, limitUsd: 1, period: 'day', onExhausted: 'reject' });
      const patch = (limitUsd: number) =>
        api(gateway).patch(`/api/budgets/${budget.id}`).send({ limitUsd }).expect(200);
      try {
        expect((await send()).status).toBe(200);
        await sync();
        const cost = costOf(price);
        expect(await spentOf(budget.id)).toBe(cost);

        // spent + this request's worst case = the limit exactly: it fits.
        await patch(asLimit(cost + worstOf(price)));
        expect((await send()).status).toBe(200);
        await sync();
        expect(await spentOf(budget.id)).toBe(2n * cost);

        // spent = the limit exactly: refused, whatever the request would cost.
        await patch(asLimit(2n * cost));
        const refused = await send();
        expect(refused.status).toBe(429);
        expect(refused.body.error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
        const name = { key: 'exact-key', policy: 'fraud', canary: 'chat-model/treatment' }[scope];
        expect(refused.body.error!.message).toContain(
          `Spend ${scope} budget "${name}" (day, ${written(2n * cost)}; id ${budget.id}) is used up`,
        );
        expect(refused.body.error!.message).toContain(`resets at ${TOMORROW}`);
        expect(refused.headers.get('x-switchyard-budget')).toBe(budget.id);
        expect(Number(refused.headers.get('retry-after'))).toBe(
          Math.ceil((Date.parse(TOMORROW) - clock.nowMs()) / 1000),
        );
        const row = await metricRow(refused.headers.get('x-switchyard-request-id')!);
        expect(row).toMatchObject({
          outcome: 'rejected',
          http_status: 429,
          error_type: 'insufficient_quota',
          budget_id: budget.id,
          budget_action: 'reject',
          attempts: 0,
        });
        // Refused before any call: the header and the row name the model the request was refused for.
        expect(refused.headers.get('x-switchyard-attempts')).toBe('0');
        expect([refused.headers.get('x-switchyard-model'), refused.headers.get('x-switchyard-provider')]).toEqual([
          row.model,
          row.provider,
        ]);
        expect(row.model).not.toBeNull();

        // One micro-dollar short of the worst case: refused too.
        await patch(asLimit(2n * cost + worstOf(price) - 1_000_000n));
        expect((await send()).status).toBe(429);
      } finally {
        await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
      }
      expect((await send()).status).toBe(200);
      // Its budget ran out, which paused the canary (see below): running again for the next tests.
      if (scope === 'canary') await api(gateway).post(`/api/canaries/${canaryId}/resume`).expect(200);
    },
  );

  it("downgrades to the route's cheapest healthy model, says so, and still counts the spend", async () => {
    const { key } = await createKey(gateway, 'downgrade');
    const budget = await createBudget(gateway, {
      scope: 'policy',
      target: 'chat',
      limitUsd: 0.000001,
      period: 'day',
      onExhausted: 'downgrade',
    });
    try {
      const answer = await chat(gateway, key, { model: 'route:chat' }, { 'x-user-id': controlUser });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-switchyard-model')).toBe('deepseek-v3.2');
      expect(answer.headers.get('x-switchyard-fallback')).toBe('true');
      expect(answer.headers.get('x-switchyard-budget')).toBe(budget.id);
      expect(answer.headers.get('x-switchyard-budget-action')).toBe('downgrade');
      expect(await metricRow(answer.headers.get('x-switchyard-request-id')!)).toMatchObject({
        outcome: 'ok',
        model: 'deepseek-v3.2',
        first_model: 'gemini-2.5-flash',
        fallback: true,
        budget_id: budget.id,
        budget_action: 'downgrade',
      });
      await sync();
      const deepseekCost = pico(SIMULATED_PROMPT_TOKENS, 0.28) + pico(MAX_TOKENS, 0.42);
      expect(await spentOf(budget.id)).toBe(deepseekCost);
      const status = (await api(gateway).get(`/api/budgets/${budget.id}`).expect(200)).body;
      expect(status.current).toMatchObject({ exhausted: true, remainingUsd: 0 });
      await eventually(async () => (await alertsOf(budget.id, 'budget.exhausted')).length === 1, 10_000, 'the alert');
    } finally {
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it("reserves each fallback's own worst case before calling it, and charges only the call that answered", async () => {
    const { id: keyId, key } = await createKey(gateway, 'fallbacks');
    // Room for deepseek-v3.2's worst case ($0.00001316), not for gemini-2.5-flash's ($0.0000469).
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 0.00002,
      period: 'day',
      onExhausted: 'reject',
    });
    const failOnce = () =>
      request(gateway.simulatorUrl)
        .post('/_simulator/faults/deepseek-v3.2')
        .send({ status: 503, count: 1 })
        .expect(200);
    try {
      await failOnce();
      const refused = await chat(gateway, key, { model: 'route:recommendations' });
      expect(refused.status).toBe(429);
      expect(refused.body.error!.code).toBe('insufficient_quota');
      expect(refused.headers.get('x-switchyard-attempts')).toBe('1');
      // gemini-2.5-flash was refused before any call: header and row name deepseek-v3.2, the model called;
      // the message names the refused one.
      expect(refused.headers.get('x-switchyard-model')).toBe('deepseek-v3.2');
      expect(refused.headers.get('x-switchyard-fallback')).toBe('false');
      expect(await metricRow(refused.headers.get('x-switchyard-request-id')!)).toMatchObject({
        outcome: 'rejected',
        model: 'deepseek-v3.2',
        first_model: 'deepseek-v3.2',
        attempts: 1,
        fallback: false,
        budget_id: budget.id,
      });
      expect(refused.body.error!.message).toContain('its fallback gemini-2.5-flash');
      // Refused on a fallback as on the first candidate: the budget is marked and alerted as used up.
      await eventually(async () => (await alertsOf(budget.id, 'budget.exhausted')).length === 1, 10_000, 'the alert');
      expect((await alertsOf(budget.id, 'budget.exhausted'))[0].evidence).toMatchObject({ worstCaseUsd: 0.0000469 });

      await api(gateway).patch(`/api/budgets/${budget.id}`).send({ limitUsd: 0.0001 }).expect(200);
      await failOnce();
      const answered = await chat(gateway, key, { model: 'route:recommendations' });
      expect(answered.status).toBe(200);
      expect(answered.headers.get('x-switchyard-model')).toBe('gemini-2.5-flash');
      expect(answered.headers.get('x-switchyard-fallback')).toBe('true');
      await sync();
      // The failed deepseek calls cost nothing; the gemini answer its exact price.
      expect(await spentOf(budget.id)).toBe(pico(SIMULATED_PROMPT_TOKENS, 0.3) + pico(MAX_TOKENS, 2.5));
    } finally {
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it('lets the strictest action decide when several budgets are used up', async () => {
    const { id: keyId, key } = await createKey(gateway, 'strictest');
    const keyBudget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 0.000001,
      period: 'week',
      onExhausted: 'downgrade',
    });
    const policyBudget = await createBudget(gateway, {
      scope: 'policy',
      target: 'chat',
      limitUsd: 0.000001,
      period: 'month',
      onExhausted: 'reject',
    });
    try {
      const refused = await chat(gateway, key, { model: 'route:chat' }, { 'x-user-id': controlUser });
      expect(refused.status).toBe(429);
      expect(refused.body.error!.message).toContain(`policy budget "chat" (month, $0.000001; id ${policyBudget.id})`);
      await api(gateway).delete(`/api/budgets/${policyBudget.id}`).expect(200);
      const downgraded = await chat(gateway, key, { model: 'route:chat' }, { 'x-user-id': controlUser });
      expect(downgraded.status).toBe(200);
      expect(downgraded.headers.get('x-switchyard-budget')).toBe(keyBudget.id);
      expect(downgraded.headers.get('x-switchyard-model')).toBe('deepseek-v3.2');
      // A concrete model leaves nothing to downgrade to: refused, saying why.
      const direct = await chat(gateway, key);
      expect(direct.status).toBe(429);
      expect(direct.body.error!.message).toContain('needs a policy');
    } finally {
      await api(gateway).delete(`/api/budgets/${keyBudget.id}`).expect(200);
    }
  });

  it("sends a canary's treatment traffic to the control and pauses the canary when its shadow_only budget runs out", async () => {
    const { key } = await createKey(gateway, 'shadow-only');
    const budget = await createBudget(gateway, {
      scope: 'canary',
      target: canaryId,
      limitUsd: 0.000001,
      period: 'week',
      onExhausted: 'shadow_only',
    });
    const answer = await chat(gateway, key, { model: 'route:chat' }, { 'x-user-id': treatmentUser });
    expect([answer.status, answer.body.error?.message]).toEqual([200, undefined]);
    expect(answer.headers.get('x-switchyard-variant')).toBe('control');
    expect(answer.headers.get('x-switchyard-model')).toBe('gemini-2.5-flash');
    expect(answer.headers.get('x-switchyard-budget-action')).toBe('shadow_only');
    expect(await metricRow(answer.headers.get('x-switchyard-request-id')!)).toMatchObject({
      variant: 'control',
      model: 'gemini-2.5-flash',
      fallback: false,
      budget_id: budget.id,
      budget_action: 'shadow_only',
    });
    const canary = await eventually(
      async () => {
        const { body } = await api(gateway).get(`/api/canaries/${canaryId}`).expect(200);
        return body.state === 'paused' && body;
      },
      10_000,
      'the canary to pause',
    );
    expect(canary.state).toBe('paused');
    const paused = await queryRows<{ message: string }>(
      database.url,
      `SELECT message FROM alerts WHERE type = 'canary.paused' AND canary_id = $1 AND message LIKE $2`,
      [canaryId, `%${budget.id}%`],
    );
    expect(paused).toHaveLength(1);
    expect(paused[0].message).toContain(`canary budget "chat-model/treatment" (week, $0.000001; id ${budget.id})`);
    // Paused already: a second treatment request is rerouted again, and pauses nothing twice.
    expect((await chat(gateway, key, { model: 'route:chat' }, { 'x-user-id': treatmentUser })).status).toBe(200);
    await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
  });

  it("takes the canary's treatment to 0% when its shadow_only budget pauses it: small requests no longer reach the treatment", async () => {
    const { key } = await createKey(gateway, 'shadow-only-pause');
    // Paused by the test before: running again, its treatment at 50%.
    await api(gateway).post(`/api/canaries/${canaryId}/resume`).expect(200);
    const budget = await createBudget(gateway, {
      scope: 'canary',
      target: canaryId,
      limitUsd: 0.004,
      period: 'week',
      onExhausted: 'shadow_only',
    });
    try {
      // No max_tokens: a $0.26 worst case against $0.004, nothing spent. The canary pauses on it.
      const large = await chat(
        gateway,
        key,
        { model: 'route:chat', max_tokens: undefined },
        { 'x-user-id': treatmentUser },
      );
      expect(large.headers.get('x-switchyard-budget-action')).toBe('shadow_only');
      await eventually(
        async () => (await api(gateway).get(`/api/canaries/${canaryId}`).expect(200)).body.state === 'paused',
        10_000,
        'the canary to pause',
      );
      const flag = (await api(gateway).get('/api/flags/chat-model').expect(200)).body;
      expect(flag.rollout).toEqual({ treatment: 0 });
      // A request whose worst case fits the $0.004 left goes to the control all the same, as the alert says.
      const small = await eventually(
        async () => {
          const answer = await chat(gateway, key, { model: 'route:chat' }, { 'x-user-id': treatmentUser });
          return answer.headers.get('x-switchyard-variant') === 'control' && answer;
        },
        10_000,
        "the treatment user's small request to reach the control",
      );
      expect(small.status).toBe(200);
      expect(small.headers.get('x-switchyard-model')).toBe('gemini-2.5-flash');
      await sync();
      expect(await spentOf(budget.id)).toBe(0n);
      const pauses = await queryRows<{ message: string }>(
        database.url,
        `SELECT message FROM alerts WHERE type = 'canary.paused' AND canary_id = $1`,
        [canaryId],
      );
      const paused = pauses.find((alert) => alert.message.includes(`id ${budget.id}`));
      expect(paused?.message).toContain('treatment at 0%');
    } finally {
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it('refuses to resume a canary whose budget is still used up, naming it; resumes once there is room, and pauses again when it runs out again', async () => {
    const { key } = await createKey(gateway, 'shadow-only-resume');
    // Paused by the test before, whose budget is gone: nothing holds it.
    await api(gateway).post(`/api/canaries/${canaryId}/resume`).expect(200);
    const budget = await createBudget(gateway, {
      scope: 'canary',
      target: canaryId,
      limitUsd: 0.004,
      period: 'week',
      onExhausted: 'shadow_only',
    });
    const large = () =>
      chat(gateway, key, { model: 'route:chat', max_tokens: undefined }, { 'x-user-id': treatmentUser });
    const pausedAgain = () =>
      eventually(
        async () => (await api(gateway).get(`/api/canaries/${canaryId}`).expect(200)).body.state === 'paused',
        10_000,
        'the canary to pause',
      );
    const rollout = async () => (await api(gateway).get('/api/flags/chat-model').expect(200)).body.rollout;
    try {
      expect((await large()).headers.get('x-switchyard-budget-action')).toBe('shadow_only');
      await pausedAgain();

      const refused = await api(gateway).post(`/api/canaries/${canaryId}/resume`).expect(409);
      expect(refused.body.code).toBe('canary_budget_exhausted');
      expect(refused.body.message).toContain(
        `canary budget "chat-model/treatment" (week, $0.004; id ${budget.id}) is used up`,
      );
      expect(refused.body.message).toContain("a single request's worst case ($0.262) exceeds the $0.004 left");
      expect(refused.body.message).toContain(`PATCH /api/budgets/${budget.id}`);
      expect((await api(gateway).get(`/api/canaries/${canaryId}`).expect(200)).body.state).toBe('paused');
      expect(await rollout()).toEqual({ treatment: 0 });

      // Room for that worst case: the resume puts the stage's weight back.
      await api(gateway).patch(`/api/budgets/${budget.id}`).send({ limitUsd: 1 }).expect(200);
      await api(gateway).post(`/api/canaries/${canaryId}/resume`).expect(200);
      expect(await rollout()).toEqual({ treatment: 50 });

      // Lowered again and used up again in the same period: paused again, and held again.
      await api(gateway).patch(`/api/budgets/${budget.id}`).send({ limitUsd: 0.005 }).expect(200);
      await eventually(
        async () => (await large()).headers.get('x-switchyard-budget-action') === 'shadow_only',
        10_000,
        'a large request to find the budget used up',
      );
      await pausedAgain();
      expect(await rollout()).toEqual({ treatment: 0 });
      await api(gateway).post(`/api/canaries/${canaryId}/resume`).expect(409);
    } finally {
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it.each(['downgrade', 'reject'] as const)(
    "pauses the canary when its %s budget runs out, leaving the flag's weights to the budget; resume is refused while it is used up",
    async (action) => {
      const { key } = await createKey(gateway, `canary-${action}`);
      // Paused by the tests before, whose budgets are gone: nothing holds it.
      await api(gateway).post(`/api/canaries/${canaryId}/resume`).expect(200);
      const rollout = async () => (await api(gateway).get('/api/flags/chat-model').expect(200)).body.rollout;
      expect(await rollout()).toEqual({ treatment: 50 });
      const budget = await createBudget(gateway, {
        scope: 'canary',
        target: canaryId,
        limitUsd: 0.000001,
        period: 'week',
        onExhausted: action,
      });
      try {
        const answer = await chat(gateway, key, { model: 'route:chat' }, { 'x-user-id': treatmentUser });
        expect(answer.status).toBe(action === 'reject' ? 429 : 200);
        await eventually(
          async () => (await api(gateway).get(`/api/canaries/${canaryId}`).expect(200)).body.state === 'paused',
          10_000,
          'the canary to pause',
        );
        const [paused] = await queryRows<{ message: string }>(
          database.url,
          `SELECT message FROM alerts WHERE type = 'canary.paused' AND canary_id = $1 AND message LIKE $2`,
          [canaryId, `%${budget.id}%`],
        );
        expect(paused.message).toContain(`canary budget "chat-model/treatment" (week, $0.000001; id ${budget.id}): `);
        expect(paused.message).toContain(`(${action}): `);
        expect(paused.message).toContain(`the flag's weights stay as they are: the budget's ${action} decides`);
        // The budget decides the treatment's requests itself: the flag is not moved.
        expect(await rollout()).toEqual({ treatment: 50 });

        const refused = await api(gateway).post(`/api/canaries/${canaryId}/resume`).expect(409);
        expect(refused.body.code).toBe('canary_budget_exhausted');
        expect(refused.body.message).toContain(budget.id);
        expect(refused.body.message).toContain(
          action === 'reject'
            ? 'would be refused (429 insufficient_quota)'
            : "would be served by the policy's cheapest model",
        );
        expect((await api(gateway).get(`/api/canaries/${canaryId}`).expect(200)).body.state).toBe('paused');
      } finally {
        await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
      }
    },
  );

  it("raises a burn-rate alert, once, when this hour's pace runs the budget out before the day ends", async () => {
    const { id: keyId, key } = await createKey(gateway, 'burn');
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 0.002,
      period: 'day',
      onExhausted: 'reject',
      alertAt: [0.9],
    });
    for (let sent = 0; sent < 3; sent++) expect((await chat(gateway, key)).status).toBe(200);
    await sync();
    await watch();
    await watch();
    const burn = await alertsOf(budget.id, 'budget.burn_rate');
    expect(burn).toHaveLength(1);
    expect(burn[0].message).toContain('runs out');
    expect(await alertsOf(budget.id, 'budget.threshold_crossed')).toHaveLength(0);
    const status = (await api(gateway).get(`/api/budgets/${budget.id}`).expect(200)).body;
    expect(status.forecast.exhaustsBeforeReset).toBe(true);
    expect(Date.parse(status.forecast.exhaustionAt)).toBeLessThan(Date.parse(TOMORROW));
    await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
  });

  it("says when a single request's worst case, not spend, used the budget up: in its exhaustion and threshold alerts", async () => {
    const { id: keyId, key } = await createKey(gateway, 'worst-case');
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 0.004,
      period: 'day',
      onExhausted: 'reject',
    });
    try {
      // No max_tokens: gpt-4.1's whole output cap (32 768 tokens) is reserved, against $0.004 with nothing spent.
      const worstPico = pico(PROMPT_BOUND_TOKENS, GPT.input) + pico(32_768, GPT.output);
      const worst = written(worstPico);
      const refused = await chat(gateway, key, { max_tokens: undefined });
      expect(refused.status).toBe(429);
      expect(refused.body.error!.message).toContain(`may cost up to ${worst} and $0.004 is left`);
      const [exhausted] = await eventually(
        async () => {
          const found = await alertsOf(budget.id, 'budget.exhausted');
          return found.length > 0 && found;
        },
        10_000,
        'the exhaustion alert',
      );
      expect(exhausted.message).toContain(`a single request's worst case (${worst}) exceeds the $0.004 left`);
      expect(exhausted.message).not.toContain('ran out');
      expect(exhausted.evidence).toMatchObject({ worstCaseUsd: Number(usd(worstPico)), leftUsd: 0.004 });

      expect(exhausted.message).toContain(
        'It is past its 50%, 80% and 100% alert thresholds too ($0.00 spent): they get no alerts of their own.',
      );

      // A threshold added once it ran out is crossed by that, and its alert says how.
      await api(gateway)
        .patch(`/api/budgets/${budget.id}`)
        .send({ alertAt: [0.5, 0.8, 0.9, 1] })
        .expect(200);
      await sync();
      await watch();
      const thresholds = await alertsOf(budget.id, 'budget.threshold_crossed');
      expect(thresholds.map((alert) => alert.evidence.threshold)).toEqual([0.9]);
      expect(thresholds[0].message).toContain('counts as past 90% of its limit with $0.00 spent');
      expect(thresholds[0].message).toContain(`a single request's worst case (${worst}) exceeded the $0.004 left`);
      expect(thresholds[0].evidence).toMatchObject({
        exhausted: true,
        worstCaseUsd: Number(usd(worstPico)),
        leftUsd: 0.004,
      });
    } finally {
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it('sends one alert, not four, when one request runs a budget out past its thresholds; a later crossing alerts alone', async () => {
    const { id: keyId, key } = await createKey(gateway, 'one-alert');
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 0.0002,
      period: 'day',
      onExhausted: 'reject',
    });
    const exhaustedAlerts = async (count: number) =>
      eventually(
        async () => {
          const found = await alertsOf(budget.id, 'budget.exhausted');
          return found.length === count && found;
        },
        10_000,
        `${count} budget.exhausted alerts`,
      );
    try {
      // Nothing spent; no max_tokens: its worst case uses the budget up, past 50%, 80% and 100% at once.
      expect((await chat(gateway, key, { max_tokens: undefined })).status).toBe(429);
      const [ranOut] = await exhaustedAlerts(1);
      await sync();
      await watch();
      expect(await alertsOf(budget.id, 'budget.threshold_crossed')).toHaveLength(0);
      expect(ranOut.message).toContain(
        'It is past its 50%, 80% and 100% alert thresholds too ($0.00 spent): they get no alerts of their own.',
      );
      expect(ranOut.evidence).toMatchObject({ thresholds: [0.5, 0.8, 1] });

      // Room again ($0.00029): one answer spends just over half of it, a crossing of its own.
      await api(gateway).patch(`/api/budgets/${budget.id}`).send({ limitUsd: 0.00029 }).expect(200);
      expect((await chat(gateway, key)).status).toBe(200);
      await sync();
      await watch();
      const crossed = await alertsOf(budget.id, 'budget.threshold_crossed');
      expect(crossed.map((alert) => alert.evidence.threshold)).toEqual([0.5]);

      // The next request's worst case no longer fits: one alert again, naming only what it passed.
      expect((await chat(gateway, key)).status).toBe(429);
      const [, again] = await exhaustedAlerts(2);
      expect(again.message).toContain('It is past its 80% and 100% alert thresholds too');
      expect(again.evidence).toMatchObject({ thresholds: [0.8, 1] });
      await watch();
      expect(await alertsOf(budget.id, 'budget.threshold_crossed')).toHaveLength(1);
    } finally {
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it('names a budget as people find it (scope, target, period, limit) and by its id, in its 429 and every alert', async () => {
    const { id: keyId, key } = await createKey(gateway, 'team-search');
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 0.0002,
      period: 'day',
      onExhausted: 'reject',
    });
    const name = `key budget "team-search" (day, $0.0002; id ${budget.id})`;
    try {
      // $0.000146 of $0.0002 in its first second: past 50%, and at that pace gone long before the day ends.
      expect((await chat(gateway, key)).status).toBe(200);
      await sync();
      await watch();
      const [crossed] = await alertsOf(budget.id, 'budget.threshold_crossed');
      expect(crossed.message).toMatch(new RegExp(`^${escaped(name)} crossed 50% of its limit`));
      const [burn] = await alertsOf(budget.id, 'budget.burn_rate');
      expect(burn.message).toMatch(new RegExp(`^${escaped(name)} is spending`));
      const refused = await chat(gateway, key);
      expect(refused.status).toBe(429);
      expect(refused.body.error!.message).toContain(`Spend ${name} is used up`);
      const [exhausted] = await eventually(
        async () => {
          const found = await alertsOf(budget.id, 'budget.exhausted');
          return found.length > 0 && found;
        },
        10_000,
        'the exhaustion alert',
      );
      expect(exhausted.message).toMatch(new RegExp(`^${escaped(name)}: `));
      // What a webhook receives: the message, and the evidence naming it for machines and people alike.
      for (const alert of [crossed, burn, exhausted])
        expect(alert.evidence).toMatchObject({ budget: budget.id, scope: 'key', target: keyId, budgetName: name });
    } finally {
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it('measures the burn rate of a budget younger than an hour over its life, and over a minute at least', async () => {
    const { id: keyId, key } = await createKey(gateway, 'young-burn');
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 10,
      period: 'day',
      onExhausted: 'reject',
    });
    const forecast = async () => (await api(gateway).get(`/api/budgets/${budget.id}`).expect(200)).body.forecast;
    const createdAt = clock.nowMs();
    try {
      for (let sent = 0; sent < 2; sent++) expect((await chat(gateway, key)).status).toBe(200);
      await sync();
      const spentUsd = Number(usd(2n * costOf(GPT)));
      // A fraction of a second old: its spend over a minute, not over the whole hour it has not lived.
      const fresh = await forecast();
      expect(fresh.burnRateWindowSeconds).toBe(60);
      expect(fresh.burnRateUsdPerHour).toBeCloseTo(spentUsd * 60, 9);
      // Two minutes old: over its two minutes.
      await clock.advanceTo(createdAt + 120_000);
      const twoMinutes = await forecast();
      expect(twoMinutes.burnRateWindowSeconds).toBe(120);
      expect(twoMinutes.burnRateUsdPerHour).toBeCloseTo(spentUsd * 30, 9);
    } finally {
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it('adds no database query per request in the common case (counted on the pool)', async () => {
    const { id: keyId, key } = await createKey(gateway, 'no-query');
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 100,
      period: 'day',
      onExhausted: 'reject',
    });
    // The first request tops the empty lease up: one transaction, then headroom for thousands.
    expect((await chat(gateway, key)).status).toBe(200);
    const counter = new BudgetQueryCounter(gateway);
    try {
      const requests = 200;
      for (let batch = 0; batch < requests / 20; batch++) {
        const answers = await Promise.all(Array.from({ length: 20 }, () => chat(gateway, key)));
        expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
      }
      expect(counter.texts).toEqual([]);
      await sync();
      // The counter sees budget queries when there are some: the sync's settlement.
      expect(counter.count).toBeGreaterThan(0);
      expect(await spentOf(budget.id)).toBe(BigInt(requests + 1) * costOf(GPT));
    } finally {
      counter.stop();
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it('shows spent, reserved, remaining, forecast, leases and the top spenders; the cost report per team and policy', async () => {
    const teamA = await createKey(gateway, 'team-a');
    const teamB = await createKey(gateway, 'team-b');
    const budget = await createBudget(gateway, {
      scope: 'policy',
      target: 'recommendations',
      limitUsd: 100,
      period: 'month',
      timezone: 'Europe/Paris',
      onExhausted: 'reject',
    });
    for (const key of [teamA.key, teamA.key, teamB.key]) {
      expect((await chat(gateway, key, { model: 'route:recommendations' })).status).toBe(200);
    }
    await sync();
    const deepseekCost = pico(SIMULATED_PROMPT_TOKENS, 0.28) + pico(MAX_TOKENS, 0.42);
    await eventually(
      async () =>
        (
          await queryRows(database.url, 'SELECT 1 FROM request_metrics WHERE api_key_id = ANY($1)', [
            [teamA.id, teamB.id],
          ])
        ).length === 3,
      10_000,
      'the metric rows',
    );
    const status = (await api(gateway).get(`/api/budgets/${budget.id}`).expect(200)).body;
    expect(status).toMatchObject({
      scope: 'policy',
      target: 'recommendations',
      limitUsd: 100,
      timezone: 'Europe/Paris',
    });
    expect(picoOfUsd(status.current.spentUsd)).toBe(3n * deepseekCost);
    expect(status.current.reservedUsd).toBe(0);
    expect(picoOfUsd(status.current.remainingUsd)).toBe(100_000_000_000_000n - 3n * deepseekCost);
    expect(status.forecast.burnRateUsdPerHour).toBeGreaterThan(0);
    expect(status.forecast.exhaustsBeforeReset).toBe(false);
    expect(status.leases).toHaveLength(1);
    expect(status.leases[0].grantedUsd).toBeGreaterThan(0);
    expect(status.topSpenders.groupBy).toBe('apiKey');
    expect(
      status.topSpenders.items
        .filter((item: { name: string }) => item.name.startsWith('team-'))
        .map((item: { name: string; requests: number }) => [item.name, item.requests]),
    ).toEqual([
      ['team-a', 2],
      ['team-b', 1],
    ]);
    const listed = (await api(gateway).get('/api/budgets').expect(200)).body;
    expect(listed.find((item: { id: string }) => item.id === budget.id).current.spentUsd).toBe(status.current.spentUsd);

    const window = { from: new Date(T0 - 3_600_000).toISOString(), to: new Date(T0 + DAY_MS).toISOString() };
    const report = (
      await api(gateway)
        .get('/api/metrics/cost')
        .query({ ...window, groupBy: 'apiKey,policy', apiKey: teamA.id })
        .expect(200)
    ).body;
    expect(report.groupBy).toBe('apiKey,policy');
    expect(report.groups).toHaveLength(1);
    expect(report.groups[0]).toMatchObject({
      key: `${teamA.id},recommendations`,
      dimensions: { apiKey: teamA.id, apiKeyName: 'team-a', policy: 'recommendations' },
      requests: 2,
    });
    expect(picoOfUsd(report.groups[0].costUsd)).toBe(2n * deepseekCost);
    expect(report.groups[0].savingRatio).toBeGreaterThan(0.8);
    await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
  });

  it('counts the top spenders over the window its spent covers: its period since the budget exists', async () => {
    const { id: keyId, key } = await createKey(gateway, 'late-budget');
    // Today's spend of the key before it had a budget: not the budget's.
    expect((await chat(gateway, key, { model: 'route:recommendations' })).status).toBe(200);
    await clock.advance(1_000);
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 10,
      period: 'day',
      onExhausted: 'reject',
    });
    try {
      expect((await chat(gateway, key, { model: 'route:recommendations' })).status).toBe(200);
      await sync();
      await eventually(
        async () =>
          (await queryRows(database.url, 'SELECT 1 FROM request_metrics WHERE api_key_id = $1', [keyId])).length === 2,
        10_000,
        'the metric rows',
      );
      const status = (await api(gateway).get(`/api/budgets/${budget.id}`).expect(200)).body;
      expect(status.current.spentUsd).toBeGreaterThan(0);
      expect(status.topSpenders).toEqual({
        groupBy: 'policy',
        items: [{ key: 'recommendations', name: null, requests: 1, costUsd: status.current.spentUsd }],
      });
    } finally {
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it('forecasts no exhaustion to come once the budget is used up: it gives the time it ran out', async () => {
    const { id: keyId, key } = await createKey(gateway, 'forecast-exhausted');
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 0.004,
      period: 'day',
      onExhausted: 'reject',
    });
    try {
      expect((await chat(gateway, key)).status).toBe(200);
      await sync();
      // Used up by a worst case ($0.26) with most of the limit still unspent, at a slow pace.
      expect((await chat(gateway, key, { max_tokens: undefined })).status).toBe(429);
      const ranOutAt = clock.nowMs();
      await clock.advance(60_000);
      const status = await eventually(
        async () => {
          const { body } = await api(gateway).get(`/api/budgets/${budget.id}`).expect(200);
          return body.current.exhausted && body;
        },
        10_000,
        'the budget to show it ran out',
      );
      expect(status.current.remainingUsd).toBeGreaterThan(0);
      expect(status.forecast.burnRateUsdPerHour).toBeGreaterThan(0);
      expect(status.forecast.exhaustionAt).toBe(new Date(ranOutAt).toISOString());
      expect(status.forecast.exhaustsBeforeReset).toBe(true);
    } finally {
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it('is no longer used up once its limit is raised, and runs out (and alerts) again under the new one', async () => {
    const { id: keyId, key } = await createKey(gateway, 'raised-limit');
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 0.004,
      period: 'day',
      onExhausted: 'reject',
    });
    const current = async () => (await api(gateway).get(`/api/budgets/${budget.id}`).expect(200)).body.current;
    const exhaustedAlerts = async () => (await alertsOf(budget.id, 'budget.exhausted')).length;
    try {
      expect((await chat(gateway, key)).status).toBe(200);
      await sync();
      expect((await chat(gateway, key, { max_tokens: undefined })).status).toBe(429);
      await eventually(async () => (await exhaustedAlerts()) === 1, 10_000, 'the budget.exhausted alert');
      await watch();
      expect(await current()).toMatchObject({ exhausted: true });
      // Its thresholds are passed by running out: named in that alert, none of their own.
      expect((await alertsOf(budget.id, 'budget.exhausted'))[0].evidence.thresholds).toEqual([0.5, 0.8, 1]);
      const crossed = (await alertsOf(budget.id, 'budget.threshold_crossed')).length;
      expect(crossed).toBe(0);

      await api(gateway).patch(`/api/budgets/${budget.id}`).send({ limitUsd: 10 }).expect(200);
      expect(await current()).toMatchObject({ exhausted: false });
      const [listed] = (await api(gateway).get('/api/budgets').expect(200)).body.filter(
        (entry: { id: string }) => entry.id === budget.id,
      );
      expect(listed.current.exhausted).toBe(false);
      expect((await chat(gateway, key, { max_tokens: undefined })).status).toBe(200);
      await sync();
      await watch();
      // Far under every threshold of the new limit: nothing new to say.
      expect((await alertsOf(budget.id, 'budget.threshold_crossed')).length).toBe(crossed);

      // Lowered to what is spent: the next request finds it used up again, and that is news again.
      await api(gateway)
        .patch(`/api/budgets/${budget.id}`)
        .send({ limitUsd: Number(usd(await spentOf(budget.id))) })
        .expect(200);
      expect((await chat(gateway, key)).status).toBe(429);
      await eventually(async () => (await exhaustedAlerts()) === 2, 10_000, 'a second budget.exhausted alert');
      await watch();
      expect(await current()).toMatchObject({ exhausted: true });
      // Re-armed by the raised limit, passed again by running out again: in the new alert.
      expect((await alertsOf(budget.id, 'budget.exhausted'))[1].evidence.thresholds).toEqual([0.5, 0.8, 1]);
      expect((await alertsOf(budget.id, 'budget.threshold_crossed')).length).toBe(crossed);
    } finally {
      await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    }
  });

  it('carries a version: 1 when created, +1 with each change that writes (in its row too), none for a change that changes nothing', async () => {
    const { id: keyId } = await createKey(gateway, 'versioned');
    const created = await api(gateway)
      .post('/api/budgets')
      .send({ scope: 'key', target: keyId, limitUsd: 10, period: 'day', onExhausted: 'reject' })
      .expect(201);
    const { id } = created.body;
    expect(created.body.version).toBe(1);
    expect(await rowOf(id)).toMatchObject({ version: 1 });
    expect((await api(gateway).get(`/api/budgets/${id}`).expect(200)).body.version).toBe(1);
    const listed = (await api(gateway).get('/api/budgets').expect(200)).body.find(
      (entry: { id: string }) => entry.id === id,
    );
    expect(listed.version).toBe(1);

    const raised = await api(gateway).patch(`/api/budgets/${id}`).send({ limitUsd: 20 }).expect(200);
    expect(raised.body).toMatchObject({ limitUsd: 20, version: 2 });
    expect(await rowOf(id)).toMatchObject({ limit_usd: '20.000000000000', version: 2 });
    const moreAlerts = await api(gateway)
      .patch(`/api/budgets/${id}`)
      .send({ alertAt: [0.9], onExhausted: 'downgrade' })
      .expect(200);
    expect(moreAlerts.body).toMatchObject({ alertAt: [0.9], onExhausted: 'downgrade', version: 3 });
    // What changes nothing writes nothing: no new version either.
    const same = await api(gateway)
      .patch(`/api/budgets/${id}`)
      .send({ limitUsd: 20, alertAt: [0.9] })
      .expect(200);
    expect(same.body.version).toBe(3);
    expect(await rowOf(id)).toMatchObject({ version: 3 });
    expect((await api(gateway).get(`/api/budgets/${id}`).expect(200)).body.version).toBe(3);

    const deleted = await api(gateway).delete(`/api/budgets/${id}`).expect(200);
    expect(deleted.body.version).toBe(3);
  });

  describe('a PATCH or DELETE based on a version', () => {
    const VERSION_MESSAGE =
      'version must be the budget version your change is based on (an integer from 1, as GET /api/budgets/:id answers it)';

    async function versionedBudget(name: string) {
      const { id: keyId } = await createKey(gateway, name);
      return createBudget(gateway, { scope: 'key', target: keyId, limitUsd: 10, period: 'day', onExhausted: 'reject' });
    }

    it('refuses a stale one with 409 naming the current version, and leaves the row as it was', async () => {
      const { id } = await versionedBudget('stale-version');
      await api(gateway).patch(`/api/budgets/${id}`).send({ limitUsd: 20, version: 1 }).expect(200);
      const before = await rowOf(id);
      expect(before).toMatchObject({ limit_usd: '20.000000000000', version: 2 });
      const name = `key budget "stale-version" (day, $20.00; id ${id})`;

      // An operator who read version 1 lowers the limit: someone raised it since.
      await sync(); // a write now would carry a later updated_at
      const stale = await api(gateway).patch(`/api/budgets/${id}`).send({ limitUsd: 5, version: 1 }).expect(409);
      expect(stale.body).toMatchObject({
        statusCode: 409,
        code: 'budget_version_conflict',
        message: `version 1 is stale: ${name} is at version 2; read it again and reapply your change on version 2`,
      });
      // Also when the change would change nothing on the current version: it was made on another one.
      await api(gateway).patch(`/api/budgets/${id}`).send({ limitUsd: 20, version: 1 }).expect(409);
      // A version from the future is not the current one either.
      await api(gateway).patch(`/api/budgets/${id}`).send({ limitUsd: 5, version: 3 }).expect(409);
      expect(await rowOf(id)).toEqual(before);

      const staleDelete = await api(gateway).delete(`/api/budgets/${id}`).send({ version: 1 }).expect(409);
      expect(staleDelete.body).toMatchObject({
        statusCode: 409,
        code: 'budget_version_conflict',
        message: `version 1 is stale: ${name} is at version 2; read it again, and send version 2 to delete it as it is now`,
      });
      expect(await rowOf(id)).toEqual(before);
      expect((await api(gateway).get(`/api/budgets/${id}`).expect(200)).body).toMatchObject({
        limitUsd: 20,
        version: 2,
      });

      // On the current version both apply.
      const lowered = await api(gateway).patch(`/api/budgets/${id}`).send({ limitUsd: 5, version: 2 }).expect(200);
      expect(lowered.body).toMatchObject({ limitUsd: 5, version: 3 });
      const deleted = await api(gateway).delete(`/api/budgets/${id}`).send({ version: 3 }).expect(200);
      expect(deleted.body).toMatchObject({ id, limitUsd: 5, version: 3 });
      expect(await rowOf(id)).toBeUndefined();
    });

    it('applies a PATCH or DELETE without one to the current version', async () => {
      const { id } = await versionedBudget('unversioned');
      await api(gateway).patch(`/api/budgets/${id}`).send({ limitUsd: 20, version: 1 }).expect(200);
      const patched = await api(gateway).patch(`/api/budgets/${id}`).send({ onExhausted: 'downgrade' }).expect(200);
      expect(patched.body).toMatchObject({ limitUsd: 20, onExhausted: 'downgrade', version: 3 });
      expect(await rowOf(id)).toMatchObject({ on_exhausted: 'downgrade', version: 3 });
      const deleted = await api(gateway).delete(`/api/budgets/${id}`).expect(200);
      expect(deleted.body).toMatchObject({ id, version: 3 });
      expect(await rowOf(id)).toBeUndefined();
    });

    it('refuses a version that is no integer from 1 with 400 saying what to send, and changes nothing', async () => {
      const { id } = await versionedBudget('bad-version');
      const before = await rowOf(id);
      const cases: Array<[unknown, string]> = [
        [0, VERSION_MESSAGE],
        [-1, VERSION_MESSAGE],
        [1.5, VERSION_MESSAGE],
        ['1', VERSION_MESSAGE],
        [true, VERSION_MESSAGE],
        [[1], VERSION_MESSAGE],
        [null, 'version must not be null: leave it out instead'],
      ];
      for (const [version, message] of cases) {
        const patch = await api(gateway).patch(`/api/budgets/${id}`).send({ limitUsd: 5, version });
        const remove = await api(gateway).delete(`/api/budgets/${id}`).send({ version });
        for (const [method, response] of [
          ['PATCH', patch],
          ['DELETE', remove],
        ] as const)
          expect([method, version, response.status, response.body.code, response.body.message]).toEqual([
            method,
            version,
            400,
            'validation_failed',
            message,
          ]);
      }
      // A DELETE's body takes nothing else: an option it does not have is named, not ignored.
      const force = await api(gateway).delete(`/api/budgets/${id}`).send({ version: 1, force: true }).expect(400);
      expect(force.body.message).toBe('force is not a field of this request; remove it');
      expect(await rowOf(id)).toEqual(before);
      await api(gateway).delete(`/api/budgets/${id}`).send({ version: 1 }).expect(200);
    });

    it('lets one of the PATCHes based on the same version apply; the others get 409', async () => {
      const { id } = await versionedBudget('raced-patch');
      const limits = Array.from({ length: 10 }, (_, index) => 11 + index);
      const answers = await Promise.all(
        limits.map((limitUsd) => api(gateway).patch(`/api/budgets/${id}`).send({ limitUsd, version: 1 })),
      );
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, ...Array(9).fill(409)]);
      const winner = answers.find((answer) => answer.status === 200)!.body;
      expect(winner.version).toBe(2);
      for (const loser of answers.filter((answer) => answer.status === 409))
        expect(loser.body.message).toContain('is at version 2;');
      expect(await rowOf(id)).toMatchObject({ limit_usd: `${winner.limitUsd}.000000000000`, version: 2 });
      await api(gateway).delete(`/api/budgets/${id}`).send({ version: 2 }).expect(200);
    });

    it('lets either a PATCH or a DELETE based on the same version apply, not both', async () => {
      const { id } = await versionedBudget('raced-patch-delete');
      const [patch, remove] = await Promise.all([
        api(gateway).patch(`/api/budgets/${id}`).send({ limitUsd: 20, version: 1 }),
        api(gateway).delete(`/api/budgets/${id}`).send({ version: 1 }),
      ]);
      if (patch.status === 200) {
        // The change came first: the delete was based on the version it replaced.
        expect([patch.status, remove.status, remove.body.code]).toEqual([200, 409, 'budget_version_conflict']);
        expect(await rowOf(id)).toMatchObject({ limit_usd: '20.000000000000', version: 2 });
        await api(gateway).delete(`/api/budgets/${id}`).send({ version: 2 }).expect(200);
      } else {
        // The delete came first: nothing is left to change.
        expect([patch.status, patch.body.code, remove.status]).toEqual([404, 'budget_not_found', 200]);
        expect(await rowOf(id)).toBeUndefined();
      }
    });
  });

  it('answers bad budgets with 400s that say what to fix, a duplicate with 409, unknown ones with 404', async () => {
    const { id: keyId } = await createKey(gateway, 'validation');
    const revoked = await createKey(gateway, 'revoked');
    await api(gateway).delete(`/api/keys/${revoked.id}`).expect(200);
    const readOnly = (
      await api(gateway)
        .post('/api/keys')
        .send({ name: 'dashboards', scopes: ['read'] })
        .expect(201)
    ).body;
    const base = { scope: 'key', target: keyId, limitUsd: 10, period: 'day', onExhausted: 'reject' };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...base, scope: 'team' }, /scope must be one of: key, policy, canary/],
      [{ ...base, limitUsd: 0 }, /limitUsd must be a USD amount above 0/],
      [{ ...base, limitUsd: 0.0000001 }, /at most 6 decimals/],
      [{ ...base, period: 'year' }, /period must be one of: day, week, month, total/],
      [{ ...base, onExhausted: 'pray' }, /onExhausted must be one of/],
      [{ ...base, alertAt: [0.5, 1.5] }, /alertAt must be a list/],
      [{ ...base, timezone: 'Mars/Olympus' }, /timezone: "Mars\/Olympus" is not an IANA time zone/],
      [{ ...base, onExhausted: 'shadow_only' }, /shadow_only applies to canary budgets only/],
      [{ ...base, target: '0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b' }, /no API key has the id/],
      [{ ...base, target: revoked.id }, /is revoked/],
      [{ ...base, target: readOnly.id }, /has no gateway scope \(scopes: read\); it cannot spend/],
      [{ ...base, target: 'search-team' }, /the key's id \(a UUID\)/],
      [{ ...base, scope: 'policy', target: 'poetry' }, /"poetry" is not a policy/],
      [
        { ...base, scope: 'canary', target: '0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b' },
        /no pending, running or paused canary/,
      ],
    ];
    for (const [body, message] of cases) {
      const response = await api(gateway).post('/api/budgets').send(body);
      expect([response.status, response.body.message]).toEqual([400, expect.stringMatching(message)]);
    }
    const budget = await createBudget(gateway, base);
    const duplicate = await api(gateway).post('/api/budgets').send(base).expect(409);
    expect(duplicate.body.message).toContain(budget.id);
    // A UUID in capitals is the same key (as GET /api/keys/:id reads it): the same budget, not another.
    const capitals = await api(gateway)
      .post('/api/budgets')
      .send({ ...base, target: keyId.toUpperCase() })
      .expect(409);
    expect(capitals.body.message).toContain(budget.id);
    const weekly = await api(gateway)
      .post('/api/budgets')
      .send({ ...base, target: keyId.toUpperCase(), period: 'week' })
      .expect(201);
    expect(weekly.body.target).toBe(keyId);
    await api(gateway).delete(`/api/budgets/${weekly.body.id}`).expect(200);
    await api(gateway).get('/api/budgets/0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b').expect(404);
    await api(gateway).get('/api/budgets/not-a-uuid').expect(400);
    await api(gateway).patch(`/api/budgets/${budget.id}`).send({ limitUsd: -1 }).expect(400);
    await api(gateway).patch(`/api/budgets/${budget.id}`).send({ onExhausted: 'shadow_only' }).expect(400);
    // What changes nothing writes nothing.
    const stored = (await api(gateway).get(`/api/budgets/${budget.id}`).expect(200)).body;
    await sync(); // a write now would carry a later updatedAt
    await api(gateway).patch(`/api/budgets/${budget.id}`).send({}).expect(200);
    await api(gateway).patch(`/api/budgets/${budget.id}`).send({ onExhausted: 'reject', limitUsd: 10 }).expect(200);
    expect((await api(gateway).get(`/api/budgets/${budget.id}`).expect(200)).body.updatedAt).toBe(stored.updatedAt);
    const deleted = await api(gateway).delete(`/api/budgets/${budget.id}`).expect(200);
    expect(deleted.body.id).toBe(budget.id);
    await api(gateway).delete(`/api/budgets/${budget.id}`).expect(404);
  });

  it('deletes a budget once when deletes of it race: one 200, the others 404', async () => {
    const { id: keyId } = await createKey(gateway, 'raced-delete');
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 10,
      period: 'day',
      onExhausted: 'reject',
    });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => api(gateway).delete(`/api/budgets/${budget.id}`)),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, ...Array(9).fill(404)]);
  });

  // Last: it moves the clock to tomorrow.
  it('starts afresh when the period resets', async () => {
    const { id: keyId, key } = await createKey(gateway, 'reset');
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: asLimit(worstOf(GPT) + 1_000_000n),
      period: 'day',
      onExhausted: 'reject',
    });
    expect((await chat(gateway, key)).status).toBe(200);
    expect((await chat(gateway, key)).status).toBe(429);
    await clock.advanceTo(Date.parse(TOMORROW) + 1000);
    expect((await chat(gateway, key)).status).toBe(200);
    const status = (await api(gateway).get(`/api/budgets/${budget.id}`).expect(200)).body;
    expect(status.current.start).toBe(TOMORROW);
  });
});

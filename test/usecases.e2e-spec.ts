import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ManualClock } from '../src/common/manual-clock';
import { api, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { atLeast, MetricRows, Traffic } from './support/traffic';
import { LATENCY_GUARDRAILS_OFF } from './support/canary-analysis';

/*
 * Use cases as configuration: five teams' policies on two strategies, each with its own budgets, a
 * variant that carries a system prompt and parameters, a canary of a prompt on the same model, the
 * policy map, and flags no policy uses. The real app, Postgres, and the simulator over HTTP; the
 * canary's ticks and stage ends run on a ManualClock the test moves.
 */

const TICK_MS = 1000;
const ENV = {
  CANARY_TICK_SECONDS: String(TICK_MS / 1000),
  METRICS_FLUSH_INTERVAL_MS: '20',
  GATEWAY_MAX_RETRIES: '0',
  GATEWAY_BREAKER_MIN_REQUESTS: '100000',
  GATEWAY_BREAKER_CONSECUTIVE_FAILURES: '100000',
};
/** The slow model answers after this long, every time (median = p99). */
const SLOW_MS = 800;
const LONG = 120_000;

const POLICIES = [
  {
    name: 'quick-answers',
    strategy: 'latency_first',
    flag: 'quick-answers-model',
    defaultModel: 'llama-slow',
    fallback: [],
    budgets: { attemptTimeoutMs: 200 },
  },
  {
    name: 'patient-reports',
    strategy: 'cost_first',
    flag: 'patient-reports-model',
    defaultModel: 'llama-slow',
    fallback: [],
    budgets: { totalTimeoutMs: 20_000, attemptTimeoutMs: 10_000 },
  },
  {
    name: 'support-chat',
    strategy: 'latency_first',
    flag: 'support-chat-model',
    defaultModel: 'gpt-4.1',
    fallback: ['gemini-2.5-flash'],
  },
  {
    name: 'summaries',
    strategy: 'cost_first',
    flag: 'summaries-model',
    defaultModel: 'deepseek-v3.2',
    fallback: ['gpt-4.1', 'gemini-2.5-flash'],
  },
  {
    name: 'tagging',
    strategy: 'latency_first',
    flag: 'tagging-model',
    defaultModel: 'gemini-2.5-flash',
    fallback: ['deepseek-v3.2'],
    budgets: { totalTimeoutMs: 5_000, maxRetriesPerModel: 1, fallbackTiers: 'none' },
  },
];

interface RecordedRequest {
  model: string;
  body: { messages: Array<{ role: string; content: string }>; [field: string]: unknown };
}

describe('use cases as configuration', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let rows: MetricRows;
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    const catalog = await writeTestCatalog((c) => {
      c.models.push({
        id: 'llama-slow',
        provider: 'simulated',
        upstreamModel: 'llama-slow',
        contextWindow: 32_000,
        tier: 1,
        pricing: { inputPer1M: 0.1, outputPer1M: 0.1 },
      });
      (c.simulator.profiles as Record<string, unknown>)['llama-slow'] = {
        latencyMs: { median: SLOW_MS, p99: SLOW_MS },
        tokensPerSecond: 0,
      };
      (c as Record<string, unknown>).policies = POLICIES;
    });
    app = await startTestApp({ databaseUrl: database.url, catalog, env: ENV, clock });
    rows = await MetricRows.open(database.url);
    await request(app.simulatorUrl).put('/_simulator/recording').send({ requests: 500 }).expect(200);
  });
  afterAll(async () => {
    await rows?.close();
    await app?.close();
    await database?.drop();
  });

  const complete = (policy: string, body: Record<string, unknown> = {}, user = randomUUID()) =>
    api(app)
      .post('/v1/chat/completions')
      .set('x-user-id', user)
      .send({ model: `route:${policy}`, messages: [{ role: 'user', content: 'hello' }], ...body });

  const recorded = async (): Promise<RecordedRequest[]> =>
    (await request(app.simulatorUrl).get('/_simulator/requests').expect(200)).body.requests;

  /** The metric rows of one request, once the writer has stored it. */
  async function rowOf(requestId: string) {
    for (let attempt = 0; attempt < 250; attempt++) {
      const [row] = await queryRows(database.url, 'SELECT * FROM request_metrics WHERE request_id = $1', [requestId]);
      if (row) return row;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no metric row for request ${requestId}`);
  }

  it('serves five policies on two strategies, each with its own budgets', async () => {
    const map = (await api(app).get('/api/policies').expect(200)).body;
    expect(map.policies.map((p: { name: string; strategy: { name: string } }) => [p.name, p.strategy.name])).toEqual(
      POLICIES.map((p) => [p.name, p.strategy]),
    );
    const budgets = Object.fromEntries(
      map.policies.map((p: { name: string; budgets: unknown }) => [p.name, p.budgets]),
    );
    expect(budgets).toEqual({
      // latency_first's defaults (20 s, 8 s, 3 s) with the attempt cut to 200 ms; the first token can wait no longer.
      'quick-answers': {
        totalTimeoutMs: 20_000,
        attemptTimeoutMs: 200,
        firstTokenTimeoutMs: 200,
        maxRetriesPerModel: 0,
        fallbackTiers: 'any',
      },
      'patient-reports': {
        totalTimeoutMs: 20_000,
        attemptTimeoutMs: 10_000,
        firstTokenTimeoutMs: 10_000,
        maxRetriesPerModel: 0,
        fallbackTiers: 'any',
      },
      'support-chat': {
        totalTimeoutMs: 20_000,
        attemptTimeoutMs: 8_000,
        firstTokenTimeoutMs: 3_000,
        maxRetriesPerModel: 0,
        fallbackTiers: 'any',
      },
      summaries: {
        totalTimeoutMs: 30_000,
        attemptTimeoutMs: 20_000,
        firstTokenTimeoutMs: 10_000,
        maxRetriesPerModel: 0,
        fallbackTiers: 'any',
      },
      tagging: {
        totalTimeoutMs: 5_000,
        attemptTimeoutMs: 5_000,
        firstTokenTimeoutMs: 3_000,
        maxRetriesPerModel: 1,
        fallbackTiers: 'none',
      },
    });
    // cost_first tries the cheaper fallback first, whatever the catalog's order.
    expect(map.policies.find((p: { name: string }) => p.name === 'summaries').fallback).toEqual([
      'gemini-2.5-flash',
      'gpt-4.1',
    ]);

    // The same slow model: 200 ms per attempt is too short for it, 10 s is not.
    const quick = await complete('quick-answers').expect(504);
    expect(quick.body.error).toMatchObject({ code: 'upstream_timeout' });
    expect(quick.headers['x-switchyard-policy']).toBe('quick-answers');
    const patient = await complete('patient-reports').expect(200);
    expect(patient.headers['x-switchyard-model']).toBe('llama-slow');
    expect(await rowOf(quick.headers['x-switchyard-request-id'])).toMatchObject({
      policy: 'quick-answers',
      model: 'llama-slow',
      outcome: 'timeout',
      attempts: 1,
    });
    const patientRow = await rowOf(patient.headers['x-switchyard-request-id']);
    expect(patientRow).toMatchObject({ policy: 'patient-reports', outcome: 'ok' });
    // Longer than quick-answers' whole attempt budget, and answered.
    expect(patientRow.upstream_latency_ms).toBeGreaterThan(200);

    for (const [policy, model] of [
      ['support-chat', 'gpt-4.1'],
      ['summaries', 'deepseek-v3.2'],
      ['tagging', 'gemini-2.5-flash'],
    ]) {
      const answer = await complete(policy).expect(200);
      expect([answer.headers['x-switchyard-policy'], answer.headers['x-switchyard-model']]).toEqual([policy, model]);
    }

    // tagging allows no fallback tier and one retry: its model failing twice fails the request.
    await request(app.simulatorUrl).post('/_simulator/faults/gemini-2.5-flash').send({ status: 503, count: 2 });
    const tagged = await complete('tagging').expect(502);
    expect(tagged.headers['x-switchyard-attempts']).toBe('2');
  });

  it('sends a variant with a system prompt and a temperature upstream as configured, and keeps it in history', async () => {
    const variants = {
      control: 'gpt-4.1',
      'prompt-v2': {
        model: 'gpt-4.1',
        params: { temperature: 0.2, max_tokens: 64 },
        systemPrompt: { mode: 'replace', text: 'You are the support assistant, version 2. Be kind and brief.' },
      },
    };
    await api(app)
      .post('/api/flags')
      .send({
        key: 'support-chat-model',
        variants,
        defaultVariant: 'control',
        rules: [
          {
            name: 'beta',
            conditions: [{ attribute: 'cohort', operator: 'equals', values: ['beta'] }],
            serve: { variant: 'prompt-v2' },
          },
        ],
      })
      .expect(201);

    const messages = [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'My parcel is late.' },
    ];
    const beta = await complete('support-chat', { messages, temperature: 0.9, metadata: { cohort: 'beta' } }).expect(
      200,
    );
    expect(beta.headers['x-switchyard-variant']).toBe('prompt-v2');
    const other = await complete('support-chat', { messages, temperature: 0.9, metadata: { cohort: 'ga' } }).expect(
      200,
    );
    expect(other.headers['x-switchyard-variant']).toBe('control');

    const [toBeta, toOther] = (await recorded()).slice(-2);
    expect(toBeta.body).toEqual({
      model: 'gpt-4.1',
      messages: [
        { role: 'system', content: 'You are the support assistant, version 2. Be kind and brief.' },
        { role: 'user', content: 'My parcel is late.' },
      ],
      temperature: 0.2,
      max_tokens: 64,
    });
    expect(toOther.body).toEqual({ model: 'gpt-4.1', messages, temperature: 0.9 });

    expect(await rowOf(beta.headers['x-switchyard-request-id'])).toMatchObject({
      flag: 'support-chat-model',
      variant: 'prompt-v2',
      model: 'gpt-4.1',
    });
    const history = (await api(app).get('/api/flags/support-chat-model/history').expect(200)).body.items;
    expect(history[0].after.variants).toEqual(variants);
    const evaluation = await api(app)
      .post('/api/flags/support-chat-model/evaluate')
      .send({ userId: 'u-1', attributes: { cohort: 'beta' } })
      .expect(200);
    expect(evaluation.body).toMatchObject({ variant: 'prompt-v2', ...variants['prompt-v2'] });
  });

  it('refuses a variant naming an unknown model, params OpenAI does not define, or a prompt over the limit, naming each', async () => {
    const response = await api(app)
      .post('/api/flags')
      .send({
        key: 'tagging-model',
        defaultVariant: 'control',
        variants: {
          control: 'gemini-2.5-flash',
          typo: { model: 'gemini-9', params: { temprature: 0.1, top_p: 3, messages: [] } },
          huge: { model: 'gemini-2.5-flash', systemPrompt: { mode: 'prepend', text: 'x'.repeat(20_001) } },
          // Every request of these would reach the provider with a format it refuses (a 400 blamed on the caller).
          json: { model: 'gemini-2.5-flash', params: { response_format: { type: 'json' } } },
          schema: { model: 'gemini-2.5-flash', params: { response_format: { type: 'json_schema' } } },
          // A stop sequence rides on every request of the variant: a megabyte of one would too.
          stops: { model: 'gemini-2.5-flash', params: { stop: ['###', 'x'.repeat(1_001)] } },
        },
      })
      .expect(400);
    expect(response.body.code).toBe('flag_invalid');
    expect(response.body.details).toEqual([
      'variants.typo.model: unknown model "gemini-9" (not in the catalog)',
      expect.stringContaining('variants.typo.params.temprature: not an OpenAI chat completion parameter'),
      'variants.typo.params.top_p must be a number between 0 and 1',
      "variants.typo.params.messages: belongs to the caller's request; a variant cannot set it",
      'variants.huge.systemPrompt.text is 20001 characters long; a system prompt may have at most 20000',
      'variants.json.params.response_format.type must be one of: text, json_object, json_schema',
      'variants.schema.params.response_format.json_schema must be an object with a name (and optionally a schema)',
      'variants.stops.params.stop must be a string or a list of up to 4 strings, each of at most 1000 characters',
    ]);
    await api(app).get('/api/flags/tagging-model').expect(404);
  });

  it('refuses a variant whose logit_bias is keyed by anything but token ids, on create and on update, storing nothing', async () => {
    const wordKeyed = { model: 'gemini-2.5-flash', params: { logit_bias: { '50256': -100, hello: -100 } } };
    const refusal =
      'variants.ban.params.logit_bias.hello: a logit_bias key must be a token id, in decimal digits such as "50256"; got "hello"';
    const created = await api(app)
      .post('/api/flags')
      .send({
        key: 'banned-words-model',
        defaultVariant: 'control',
        variants: { control: 'gemini-2.5-flash', ban: wordKeyed },
      })
      .expect(400);
    expect(created.body).toMatchObject({ code: 'flag_invalid', details: [refusal] });
    await api(app).get('/api/flags/banned-words-model').expect(404);
    expect(await queryRows(database.url, 'SELECT key FROM flags WHERE key = $1', ['banned-words-model'])).toEqual([]);

    const variants = {
      control: 'gemini-2.5-flash',
      ban: { model: 'gemini-2.5-flash', params: { logit_bias: { '50256': -100 } } },
    };
    await api(app)
      .post('/api/flags')
      .send({ key: 'banned-words-model', defaultVariant: 'control', variants })
      .expect(201);
    const updated = await api(app)
      .patch('/api/flags/banned-words-model')
      .send({ version: 1, variants: { ...variants, ban: wordKeyed } })
      .expect(400);
    expect(updated.body).toMatchObject({ code: 'flag_invalid', details: [refusal] });
    expect((await api(app).get('/api/flags/banned-words-model').expect(200)).body).toMatchObject({
      version: 1,
      variants,
    });
    const history = await queryRows(database.url, 'SELECT version FROM flag_history WHERE flag_key = $1', [
      'banned-words-model',
    ]);
    expect(history).toEqual([{ version: 1 }]);
  });

  it(
    'rolls a prompt change on the same model out to 100% with a canary, and the policy map shows it',
    async () => {
      const terse = { model: 'deepseek-v3.2', systemPrompt: { mode: 'prepend', text: 'Answer in one sentence.' } };
      await api(app)
        .post('/api/flags')
        .send({ key: 'summaries-model', defaultVariant: 'control', variants: { control: 'deepseek-v3.2', terse } })
        .expect(201);
      let traffic: Traffic | undefined;
      let id = '';
      try {
        const created = await api(app)
          .post('/api/canaries')
          .send({
            flagKey: 'summaries-model',
            variant: 'terse',
            stages: [
              { percentage: 50, durationSeconds: 60 },
              { percentage: 100, durationSeconds: 0 },
            ],
            analysis: { minRequests: 10, guardrails: LATENCY_GUARDRAILS_OFF },
          })
          .expect(201);
        id = created.body.id;
        traffic = new Traffic(app, 'summaries');
        const during = (await api(app).get('/api/policies').expect(200)).body.policies.find(
          (p: { name: string }) => p.name === 'summaries',
        );
        expect(during.canary).toEqual({ id, variant: 'terse', state: 'running', percentage: 50 });
        expect(during.variants.map((v: { name: string; weight: number }) => [v.name, v.weight])).toEqual([
          ['control', 50],
          ['terse', 50],
        ]);

        let canary = created.body;
        for (let stage = 0; canary.state === 'running' && stage < 5; stage++) {
          await rows.waitFor('summaries-model', canary.stage, { control: atLeast(10), terse: atLeast(10) });
          await clock.advance(canary.stage.durationSeconds * 1000);
          // A stage-end verdict that holds (a slow moment on a busy machine) gets a few more ticks.
          for (let tick = 0; tick < 10; tick++) {
            canary = (await api(app).get(`/api/canaries/${id}`).expect(200)).body;
            if (canary.state !== 'running' || canary.stage.index > stage) break;
            await clock.advance(TICK_MS);
          }
        }
        expect(canary.state).toBe('promoted');
      } finally {
        await traffic?.stop();
      }
      expect((await api(app).get('/api/flags/summaries-model').expect(200)).body.rollout).toEqual({ terse: 100 });

      // Every request now gets the prompt, on the same model.
      let last = '';
      for (let i = 0; i < 3; i++) last = (await complete('summaries').expect(200)).headers['x-switchyard-request-id'];
      // Rows are written in the order requests end: once the last one is stored, every one is.
      await rowOf(last);
      for (const sent of (await recorded()).slice(-3)) {
        expect(sent.model).toBe('deepseek-v3.2');
        expect(sent.body.messages[0]).toEqual({ role: 'system', content: 'Answer in one sentence.' });
      }

      const summaries = (await api(app).get('/api/policies').expect(200)).body.policies.find(
        (p: { name: string }) => p.name === 'summaries',
      );
      expect(summaries).toMatchObject({
        flagKey: 'summaries-model',
        flag: { enabled: true, defaultVariant: 'control' },
        canary: null,
        defaultModel: { id: 'deepseek-v3.2', pricing: { inputPer1M: 0.28, outputPer1M: 0.42 } },
      });
      const [control, terseVariant] = summaries.variants;
      expect(control).toMatchObject({ name: 'control', model: 'deepseek-v3.2', default: true, weight: 0 });
      expect(terseVariant).toMatchObject({
        name: 'terse',
        model: 'deepseek-v3.2',
        pricing: { inputPer1M: 0.28, outputPer1M: 0.42 },
        systemPrompt: terse.systemPrompt,
        default: false,
        weight: 100,
      });
      // The last hour, as the metric rows have it.
      const [stored] = await queryRows<{ requests: number; terse: number; cost: string }>(
        database.url,
        `SELECT count(*)::int AS requests, count(*) FILTER (WHERE variant = 'terse')::int AS terse,
                coalesce(sum(cost_usd), 0)::text AS cost
           FROM request_metrics WHERE policy = 'summaries'`,
      );
      expect(summaries.lastHour.requests).toBe(stored.requests);
      expect(terseVariant.lastHour.requests).toBe(stored.terse);
      expect(terseVariant.lastHour.share).toBeCloseTo(stored.terse / stored.requests, 10);
      expect(summaries.lastHour.costUsd).toBeCloseTo(Number(stored.cost), 10);
    },
    LONG,
  );

  it('marks a flag no policy uses, warns when it is created, and refuses it a canary naming the policies', async () => {
    const created = await api(app)
      .post('/api/flags')
      .send({
        key: 'orphan-model',
        defaultVariant: 'control',
        variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
      })
      .expect(201);
    expect(created.body).toMatchObject({ key: 'orphan-model', policy: null, unused: true });
    expect(created.body.warnings).toEqual([expect.stringContaining('flag "orphan-model" is used by no policy yet')]);

    const listed = (await api(app).get('/api/flags').expect(200)).body.items as Array<{
      key: string;
      unused: boolean;
      policy: string | null;
    }>;
    expect(listed.find((flag) => flag.key === 'orphan-model')).toMatchObject({ unused: true, policy: null });
    expect(listed.find((flag) => flag.key === 'support-chat-model')).toMatchObject({
      unused: false,
      policy: 'support-chat',
    });

    const refused = await api(app)
      .post('/api/canaries')
      .send({ flagKey: 'orphan-model', variant: 'treatment' })
      .expect(409);
    expect(refused.body.code).toBe('flag_unused');
    expect(refused.body.message).toContain('flag "orphan-model" is used by no policy');
    for (const policy of POLICIES) expect(refused.body.message).toContain(`${policy.name} → ${policy.flag}`);
    expect(await queryRows(database.url, `SELECT id FROM canaries WHERE flag_key = 'orphan-model'`)).toEqual([]);
  });
});

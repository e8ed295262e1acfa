import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ManualClock } from '../src/common/manual-clock';
import { ShadowStages } from '../src/shadow/shadow-stages';
import { api as authorized, policiesFor, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { CANDIDATE_MODEL, withCandidate } from './support/shadow';
import { eventually } from './support/webhook-server';

/*
 * The shadow stage through the real gateway: requests of real users go to the control over HTTP
 * (the simulator), and after each answer the sampled ones are sent again to the candidate. Users
 * must get what they got before; the pairs gate the first live stage. Time is a ManualClock: the
 * canary is judged only when the test moves it.
 */
const TICK_MS = 1000;
const ENV = {
  CANARY_TICK_SECONDS: '1',
  METRICS_FLUSH_INTERVAL_MS: '20',
  GATEWAY_MAX_RETRIES: '0',
  SHADOW_ANSWER_CHARS: '200',
};
const STAGES = [
  { percentage: 5, durationSeconds: 60 },
  { percentage: 100, durationSeconds: 0 },
];
const LONG = 120_000;

describe('the shadow stage', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      databaseUrl: database.url,
      catalog: await writeTestCatalog((catalog) => {
        policiesFor('shadow-flag', 'json-flag', 'tools-flag')(catalog);
        withCandidate(catalog);
      }),
      clock,
      env: ENV,
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  }, 30_000);

  const api = () => authorized(app);
  const canaryOf = async (id: string) => (await api().get(`/api/canaries/${id}`).expect(200)).body;
  const createFlag = (key: string, treatment: unknown = CANDIDATE_MODEL) =>
    api()
      .post('/api/flags')
      .send({
        key,
        variants: { control: 'deepseek-v3.2', treatment },
        defaultVariant: 'control',
        rollout: {},
      })
      .expect(201);
  const chat = (policy: string, user: string, extra: Record<string, unknown> = {}) =>
    request(app.url)
      .post('/v1/chat/completions')
      .set('authorization', `Bearer ${app.adminKey}`)
      .set('x-user-id', user)
      .send({ model: `route:${policy}`, messages: [{ role: 'user', content: 'Is this payment fraud?' }], ...extra });
  const simulatorCalls = async (model: string) =>
    ((await request(app.simulatorUrl).get('/_simulator/stats').expect(200)).body.byModel?.[model] as number) ?? 0;
  const pairsOf = async (canaryId: string) =>
    (
      await queryRows<{ n: number }>(database.url, `SELECT count(*)::int AS n FROM shadow_pairs WHERE canary_id = $1`, [
        canaryId,
      ])
    )[0].n;

  /** The user-visible part of an answer: status, the headers but the per-request ones, the body's shape. */
  function visible(response: request.Response) {
    const perRequest = new Set(['date', 'x-switchyard-request-id', 'server-timing', 'content-length', 'etag']);
    const headers = Object.fromEntries(
      Object.entries(response.headers).filter(([name]) => !perRequest.has(name) && !name.startsWith('x-ratelimit')),
    );
    return { status: response.status, headers, keys: Object.keys(response.body).sort(), model: response.body.model };
  }

  it(
    'keeps every user on the control with the same answers, pairs them with the candidate and passes into the 5% stage',
    async () => {
      // The candidate variant has params and a system prompt of its own: the shadow call carries them.
      const system = 'Answer with one word: fraud or legit.';
      await createFlag('shadow-flag', {
        model: CANDIDATE_MODEL,
        params: { temperature: 0 },
        systemPrompt: { mode: 'prepend', text: system },
      });
      await request(app.simulatorUrl).put('/_simulator/recording').send({ requests: 200 }).expect(200);
      const before = visible(await chat('shadow-flag', 'user-before').expect(200));
      const streamedBefore = await chat('shadow-flag', 'user-before', { stream: true }).expect(200);
      // A bad shadow stage is refused with every problem named, before anything is created.
      const refused = await api()
        .post('/api/canaries')
        .send({
          flagKey: 'shadow-flag',
          variant: 'treatment',
          shadow: { percentage: 0, durationSeconds: 60, maxSpendUsd: -1, maxConcurrency: 16, extra: true },
        })
        .expect(400);
      expect(JSON.stringify(refused.body.message)).toContain('shadow.percentage must be above 0');
      expect(JSON.stringify(refused.body.message)).toContain('shadow.maxSpendUsd must be above 0');
      expect(JSON.stringify(refused.body.message)).toContain('extra');
      const preview = await api()
        .post('/api/canaries/preview')
        .send({
          flagKey: 'shadow-flag',
          variant: 'treatment',
          shadow: { percentage: 100, durationSeconds: 60, maxSpendUsd: 1, maxConcurrency: 8 },
          stages: STAGES,
        })
        .expect(200);
      expect(preview.body.shadow).toMatchObject({ percentage: 100, minPairs: 50, expectedPairs: expect.any(Number) });
      expect(preview.body.shadow.sentence).toMatch(/^Before any user is moved, 100% of the flag's users/);
      const created = await api()
        .post('/api/canaries')
        .send({
          flagKey: 'shadow-flag',
          variant: 'treatment',
          shadow: { percentage: 100, durationSeconds: 60, maxSpendUsd: 1, maxConcurrency: 8, minPairs: 30 },
          stages: STAGES,
          analysis: { minRequests: 10 },
        })
        .expect(201);
      const id = created.body.id;
      expect(created.body).toMatchObject({ phase: 'shadow', stage: null, shadowStage: { durationSeconds: 60 } });
      expect(created.body.shadow).toMatchObject({
        percentage: 100,
        maxSpendUsd: 1,
        maxConcurrency: 8,
        minPairs: 30,
        maxLatencyRatio: 1.5,
      });
      expect((await api().get('/api/flags/shadow-flag').expect(200)).body.rollout.treatment ?? 0).toBe(0);

      const candidateCallsBefore = await simulatorCalls(CANDIDATE_MODEL);
      const requestIds: string[] = [];
      for (let i = 0; i < 40; i++) {
        // Half plain, half streamed: a stream's answer is kept as it is relayed, for the pair.
        if (i % 2 === 0) {
          const response = await chat('shadow-flag', `user-${i}`).expect(200);
          expect(visible(response)).toEqual(before);
          requestIds.push(response.headers['x-switchyard-request-id']);
        } else {
          const response = await chat('shadow-flag', `user-${i}`, { stream: true }).expect(200);
          expect(response.headers['content-type']).toBe(streamedBefore.headers['content-type']);
          expect(response.headers['x-switchyard-variant']).toBe('control');
          expect(response.text).toMatch(/data: \[DONE\]\n\n$/);
          requestIds.push(response.headers['x-switchyard-request-id']);
        }
      }
      const pairs = await eventually(
        async () => ((await pairsOf(id)) >= 30 ? pairsOf(id) : undefined),
        30_000,
        'pairs',
      );
      expect(await simulatorCalls(CANDIDATE_MODEL)).toBeGreaterThanOrEqual(candidateCallsBefore + pairs);
      const recorded = (await request(app.simulatorUrl).get('/_simulator/requests').expect(200)).body
        .requests as Array<{
        model: string;
        body: { temperature?: number; stream?: boolean; messages: Array<{ role: string; content: string }> };
      }>;
      const shadowCalls = recorded.filter((call) => call.model === CANDIDATE_MODEL);
      expect(shadowCalls.length).toBeGreaterThanOrEqual(pairs);
      for (const call of shadowCalls) {
        expect(call.body).toMatchObject({ temperature: 0 });
        expect(call.body.messages[0]).toEqual({ role: 'system', content: system });
      }
      // A streamed request is copied as a stream: both times to first token are measured.
      expect(shadowCalls.some((call) => call.body.stream === true)).toBe(true);
      expect(shadowCalls.some((call) => call.body.stream === undefined)).toBe(true);
      const streamedPairs = await queryRows<{
        exact_agreement: boolean | null;
        control_ttft_ms: number | null;
        candidate_ttft_ms: number | null;
        candidate_outcome: string;
      }>(
        database.url,
        `SELECT p.exact_agreement, p.control_ttft_ms, p.candidate_ttft_ms, p.candidate_outcome FROM shadow_pairs p JOIN request_metrics m ON m.request_id = p.primary_request_id
          WHERE p.canary_id = $1 AND m.stream AND NOT m.shadow`,
        [id],
      );
      expect(streamedPairs.length).toBeGreaterThan(0);
      // The streamed answer was captured: its text is compared with the candidate's.
      expect(streamedPairs.every((pair) => pair.exact_agreement !== null)).toBe(true);
      for (const pair of streamedPairs) {
        expect(pair.candidate_outcome).toBe('ok');
        expect(pair.control_ttft_ms).not.toBeNull();
        expect(pair.candidate_ttft_ms).not.toBeNull();
      }

      // Every shadow row is marked, linked to its user's request, billed to no key.
      const shadowRows = await eventually(
        async () => {
          const rows = await queryRows<{ shadow_of: string; variant: string; api_key_id: string | null }>(
            database.url,
            `SELECT shadow_of, variant, api_key_id FROM request_metrics WHERE flag = 'shadow-flag' AND shadow`,
          );
          return rows.length >= pairs ? rows : undefined;
        },
        30_000,
        'shadow rows',
      );
      for (const row of shadowRows) {
        expect(requestIds).toContain(row.shadow_of);
        expect(row).toMatchObject({ variant: 'treatment', api_key_id: null });
      }
      const primaries = await queryRows<{ variant: string }>(
        database.url,
        `SELECT variant FROM request_metrics WHERE flag = 'shadow-flag' AND NOT shadow`,
      );
      expect(new Set(primaries.map((row) => row.variant))).toEqual(new Set(['control']));

      // Caller-facing reports count the users' requests only.
      const window = {
        from: new Date(clock.now().getTime() - 3_600_000).toISOString(),
        to: new Date(clock.now().getTime() + 1000).toISOString(),
      };
      const summary = await api()
        .get('/api/metrics/summary')
        .query({ ...window, flag: 'shadow-flag', groupBy: 'variant' })
        .expect(200);
      expect(
        summary.body.groups.map((group: { key: string; requests: number }) => [group.key, group.requests]),
      ).toEqual([['control', primaries.length]]);
      const cost = await api()
        .get('/api/metrics/cost')
        .query({ ...window, groupBy: 'model' })
        .expect(200);
      expect(JSON.stringify(cost.body)).not.toContain(CANDIDATE_MODEL);

      // The pairs, with both sides; admin keys only.
      const listed = await api().get(`/api/canaries/${id}/shadow-pairs`).query({ limit: 5 }).expect(200);
      expect(listed.body).toHaveLength(5);
      expect(listed.body[0]).toMatchObject({
        control: { variant: 'control', model: 'deepseek-v3.2', outcome: 'ok' },
        candidate: { variant: 'treatment', model: CANDIDATE_MODEL, outcome: 'ok' },
      });
      expect(requestIds).toContain(listed.body[0].primaryRequestId);
      const reader = await api()
        .post('/api/keys')
        .send({ name: 'dashboard', scopes: ['read'] })
        .expect(201);
      await request(app.url)
        .get(`/api/canaries/${id}/shadow-pairs`)
        .set('authorization', `Bearer ${reader.body.key}`)
        .expect(403);
      await api().get(`/api/canaries/${id}/shadow-pairs`).query({ limit: 0 }).expect(400);

      // The stage's time is up: judged on the pairs, passed, the 5% stage begins.
      await clock.advance(60_000);
      const live = await canaryOf(id);
      expect(live).toMatchObject({
        state: 'running',
        phase: 'live',
        stage: { index: 0, percentage: 5 },
        shadowStage: null,
      });
      expect(live.lastVerdict).toMatchObject({ kind: 'shadow', outcome: 'pass', decision: 'advance' });
      expect((await api().get('/api/flags/shadow-flag').expect(200)).body.rollout).toEqual({ treatment: 5 });
      // The shadow stage has no stage number: its events say so, rather than the first live stage's 0.
      const events = (
        (await api().get(`/api/canaries/${id}/events`).expect(200)).body.items as Array<{
          type: string;
          phase: string;
          stage: number | null;
        }>
      ).map(({ type, phase, stage }) => ({ type, phase, stage }));
      const passed = events.findIndex((event) => event.type === 'shadow_passed');
      expect(passed).toBeGreaterThan(2);
      expect(events.slice(0, passed)).toEqual(
        events.slice(0, passed).map(({ type }) => ({ type, phase: 'shadow', stage: null })),
      );
      expect(events.slice(0, 2).map((event) => event.type)).toEqual(['created', 'started']);
      expect(events.slice(passed)).toEqual(events.slice(passed).map(({ type }) => ({ type, phase: 'live', stage: 0 })));
    },
    LONG,
  );

  it(
    'fails a candidate returning invalid JSON for half of the json_object requests; no user is ever routed to it',
    async () => {
      await createFlag('json-flag');
      await request(app.simulatorUrl)
        .put(`/_simulator/profiles/${CANDIDATE_MODEL}`)
        .send({ invalidJsonRate: 0.5 })
        .expect(200);
      const created = await api()
        .post('/api/canaries')
        .send({
          flagKey: 'json-flag',
          variant: 'treatment',
          shadow: { percentage: 100, durationSeconds: 600, maxSpendUsd: 1, maxConcurrency: 8, minPairs: 30 },
          stages: STAGES,
        })
        .expect(201);
      const id = created.body.id;
      const json = { response_format: { type: 'json_object' } };
      for (let i = 0; i < 80; i++) {
        const response = await chat('json-flag', randomUUID(), json).expect(200);
        expect(response.headers['x-switchyard-variant']).toBe('control');
        expect(() => JSON.parse(response.body.choices[0].message.content)).not.toThrow();
      }
      await eventually(async () => ((await pairsOf(id)) >= 60 ? true : undefined), 30_000, 'pairs');
      await clock.advance(TICK_MS);
      const done = await canaryOf(id);
      expect(done).toMatchObject({ state: 'rolled_back', phase: 'shadow' });
      expect(done.lastVerdict).toMatchObject({ kind: 'shadow', outcome: 'fail', decision: 'rollback' });
      const quality = done.lastVerdict.signals.find((signal: { signal: string }) => signal.signal === 'quality');
      expect(quality.status).toBe('harm');
      expect(done.lastVerdict.examples.quality.length).toBeGreaterThan(0);

      // The alert names the failing signal and example pairs.
      const alerts = (
        await api().get('/api/alerts').query({ type: 'canary.rolled_back', flag: 'json-flag' }).expect(200)
      ).body.items;
      const alert = alerts.find((one: { canary: string }) => one.canary === id);
      expect(alert.message).toMatch(/quality-signal rate/);
      expect(alert.evidence.failingSignals).toEqual(['quality']);
      expect(alert.message).toContain(done.lastVerdict.examples.quality[0]);
      // The stage it failed in is the shadow stage, not the first live stage it never reached.
      expect(alert.stage).toBeNull();
      expect(alert.evidence.stage).toEqual({ phase: 'shadow', percentage: 100 });

      // No user was ever served the candidate: the flag never gave it weight, every user row is the control's.
      const weights = await queryRows<{ weight: number | null }>(
        database.url,
        `SELECT (after->'rollout'->>'treatment')::float AS weight FROM flag_history WHERE flag_key = 'json-flag'`,
      );
      expect(weights.every((row) => !row.weight)).toBe(true);
      const served = await queryRows<{ variant: string }>(
        database.url,
        `SELECT DISTINCT variant FROM request_metrics WHERE flag = 'json-flag' AND NOT shadow`,
      );
      expect(served).toEqual([{ variant: 'control' }]);

      // The disagreeing pairs, with both answers for inspection.
      const disagreeing = (
        await api().get(`/api/canaries/${id}/shadow-pairs`).query({ disagree: 'true', limit: 100 }).expect(200)
      ).body;
      const broken = disagreeing.filter((pair: { candidate: { qualitySignals: string[] } }) =>
        pair.candidate.qualitySignals.includes('invalid_json'),
      );
      expect(broken.length).toBeGreaterThan(10);
      expect(broken[0]).toMatchObject({ disagree: true, control: { qualitySignals: [] } });
      expect(typeof broken[0].candidate.answer).toBe('string');
      expect(broken[0].candidate.answer.length).toBeLessThanOrEqual(200);
      expect(() => JSON.parse(broken[0].candidate.answer)).toThrow();
    },
    LONG,
  );

  it(
    "records which tools each side called, agreeing or not, and never returns the candidate's tool call",
    async () => {
      await createFlag('tools-flag');
      const created = await api()
        .post('/api/canaries')
        .send({
          flagKey: 'tools-flag',
          variant: 'treatment',
          // A phase sends 10 requests and waits for all 10 pairs: on a slow machine shadow calls pile up
          // behind the answers, and one skipped for concurrency (beyond 8) would never be paired.
          shadow: { percentage: 100, durationSeconds: 600, maxSpendUsd: 1, maxConcurrency: 10, minPairs: 30 },
          stages: STAGES,
        })
        .expect(201);
      const id = created.body.id;
      // A replica learns of a new shadow stage from the canary change's NOTIFY, well under a second but
      // not before the next request: the phases pair every request they send, so this one is told now.
      await app.app.get(ShadowStages).reload();
      const tools = {
        tools: [{ type: 'function', function: { name: 'flag_payment', parameters: { type: 'object' } } }],
      };
      const profile = (model: string, toolCallRate: number) =>
        request(app.simulatorUrl).put(`/_simulator/profiles/${model}`).send({ toolCallRate }).expect(200);
      interface ToolPair {
        primary_request_id: string;
        tools_agreement: boolean | null;
        control_tools: string[] | null;
        candidate_tools: string[] | null;
        disagree: boolean;
        candidate_quality: number | null;
      }

      /**
       * Sends 10 requests with tools (half streamed) under the given profiles and waits for their
       * 10 pairs: a profile changes only once the shadow calls made under the last one are done.
       */
      async function phase(control: number, candidate: number) {
        await profile('deepseek-v3.2', control);
        await profile(CANDIDATE_MODEL, candidate);
        const answers: request.Response[] = [];
        for (let i = 0; i < 10; i++) {
          const response = await chat('tools-flag', randomUUID(), { ...tools, stream: i % 2 === 1 }).expect(200);
          expect(response.headers['x-switchyard-variant']).toBe('control');
          answers.push(response);
        }
        const ids = answers.map((response) => response.headers['x-switchyard-request-id'] as string);
        const pairs = await eventually(
          async () => {
            const rows = await queryRows<ToolPair>(
              database.url,
              `SELECT primary_request_id, tools_agreement, control_tools, candidate_tools, disagree, candidate_quality
                 FROM shadow_pairs WHERE canary_id = $1 AND primary_request_id = ANY($2)`,
              [id, ids],
            );
            return rows.length === ids.length ? rows : undefined;
          },
          30_000,
          'the pairs of a phase',
        );
        return { answers, pairs, userTools: answers.map((response) => userAnswerOf(response).tools) };
      }

      /** What the user got: the tools called and the text, from a JSON body or a stream's deltas. */
      function userAnswerOf(response: request.Response): { tools: string[]; text: string } {
        if (response.body?.choices) {
          const message = response.body.choices[0].message;
          const calls = (message.tool_calls ?? []) as Array<{ function: { name: string } }>;
          return { tools: calls.map((call) => call.function.name), text: message.content ?? '' };
        }
        const deltas = response.text
          .split('\n\n')
          .filter((event) => event.startsWith('data: {'))
          .map((event) => JSON.parse(event.slice('data: '.length)).choices[0]?.delta ?? {});
        return {
          tools: deltas.flatMap((delta) => delta.tool_calls ?? []).flatMap((call) => call.function?.name ?? []),
          text: deltas.map((delta) => delta.content ?? '').join(''),
        };
      }

      // Both call the same tool: agreement, nothing to inspect.
      const same = await phase(1, 1);
      expect(same.userTools).toEqual(Array(10).fill(['flag_payment']));
      for (const pair of same.pairs) {
        expect(pair).toMatchObject({
          tools_agreement: true,
          control_tools: ['flag_payment'],
          candidate_tools: ['flag_payment'],
          disagree: false,
          candidate_quality: 0,
        });
      }

      // The candidate answers in words where the control calls the tool: disagreement.
      const onlyControl = await phase(1, 0);
      expect(onlyControl.userTools).toEqual(Array(10).fill(['flag_payment']));
      for (const pair of onlyControl.pairs) {
        expect(pair).toMatchObject({
          tools_agreement: false,
          control_tools: ['flag_payment'],
          candidate_tools: null,
          disagree: true,
        });
      }

      // Only the candidate calls the tool: the pair records it, the user gets the control's words.
      const onlyCandidate = await phase(0, 1);
      expect(onlyCandidate.userTools).toEqual(Array(10).fill([]));
      for (const response of onlyCandidate.answers) {
        expect(response.text).not.toContain('tool_calls');
        expect(response.text).not.toContain('flag_payment');
        expect(userAnswerOf(response).text).toMatch(/^Simulated reply from deepseek-v3\.2: alpha/);
      }
      for (const pair of onlyCandidate.pairs) {
        expect(pair).toMatchObject({
          tools_agreement: false,
          control_tools: null,
          candidate_tools: ['flag_payment'],
          disagree: true,
        });
      }
      const listed = (
        await api().get(`/api/canaries/${id}/shadow-pairs`).query({ disagree: 'true', limit: 100 }).expect(200)
      ).body as Array<{ primaryRequestId: string; control: { tools: string[] }; candidate: { tools: string[] } }>;
      const candidateOnly = listed.filter((pair) =>
        onlyCandidate.pairs.some((row) => row.primary_request_id === pair.primaryRequestId),
      );
      expect(candidateOnly).toHaveLength(10);
      for (const pair of candidateOnly) {
        expect(pair).toMatchObject({ control: { tools: [] }, candidate: { tools: ['flag_payment'] } });
      }

      // Paused by a person in the shadow stage: the flag's history and the alert name that stage, not stage 1.
      await api().post(`/api/canaries/${id}/pause`).send({ reason: 'reading the pairs' }).expect(200);
      const [note] = (await api().get('/api/flags/tools-flag/history').expect(200)).body.items;
      expect(note).toMatchObject({
        source: 'canary',
        action: 'note',
        reason: expect.stringMatching(new RegExp(`^canary ${id} shadow stage: pause by .+: reading the pairs$`)),
      });
      const paused = (await api().get('/api/alerts').query({ type: 'canary.paused', flag: 'tools-flag' }).expect(200))
        .body.items;
      expect(paused).toEqual([
        expect.objectContaining({
          stage: null,
          evidence: expect.objectContaining({ stage: { phase: 'shadow', percentage: 100 } }),
        }),
      ]);
    },
    LONG,
  );
});

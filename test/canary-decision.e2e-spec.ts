import request from 'supertest';
import { ManualClock } from '../src/common/manual-clock';
import { writeSyntheticRows, type SyntheticArm } from './support/synthetic-metrics';
import { api as authorized, policiesFor, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';
import { MetricRows } from './support/traffic';
import { eventually } from './support/webhook-server';
import { LATENCY_GUARDRAILS_OFF } from './support/canary-analysis';

/*
 * The decision engine through the real app and Postgres, on a manual clock: hours of realistic
 * traffic (median 500 ms, a long tail, 0.5% errors, sticky users) are written as request_metrics
 * rows through the app's own MetricsWriter, stamped with the clock's time; the canary's ticks run
 * when the test moves the clock. Nothing waits for real time.
 */
const TICK_MS = 10_000;
const HOUR = 3_600_000;
const LONG = 180_000;
const ENV = { CANARY_TICK_SECONDS: '10', METRICS_FLUSH_INTERVAL_MS: '20', ALERT_SEND_INTERVAL_MS: '100' };

const control: SyntheticArm = { variant: 'control', model: 'deepseek-v3.2' };
const treatment: SyntheticArm = { variant: 'treatment', model: 'gemini-2.5-flash' };

interface Verdict {
  decision: string;
  outcome: string;
  sentence: string;
  metrics: Array<Record<string, any>>;
  srm: Record<string, any>;
  n: Record<string, any>;
  alpha: Record<string, any>;
  degradation: Array<Record<string, any>>;
}

describe('canary decision engine: relative guardrails, anytime-valid, on the real app', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let rows: MetricRows;
  const clock = new ManualClock(Math.floor(Date.now() / TICK_MS) * TICK_MS);

  beforeAll(async () => {
    database = await createTestDatabase();
    // Canaries run only on flags a policy routes by: a policy per flag.
    const flags = [
      'aa-flag',
      'evidence-flag',
      'errors-flag',
      'outage-flag',
      'srm-flag',
      'preview-flag',
      'quiet-preview-flag',
      'sparse-preview-flag',
      'young-preview-flag',
      'late-preview-flag',
      'unproven-flag',
      'settles-flag',
      'short-outage-flag',
      'jitter-flag',
    ];
    app = await startTestApp({
      databaseUrl: database.url,
      clock,
      env: ENV,
      catalog: await writeTestCatalog(policiesFor(...flags)),
    });
    rows = await MetricRows.open(database.url);
  }, 60_000);
  afterAll(async () => {
    await rows?.close();
    await app?.close();
    await database?.drop();
  });

  const api = () => authorized(app);
  const createFlag = (key: string) =>
    api()
      .post('/api/flags')
      .send({
        key,
        variants: { control: control.model, treatment: treatment.model },
        defaultVariant: 'control',
        rollout: {},
      })
      .expect(201);
  const canaryOf = async (id: string) => (await api().get(`/api/canaries/${id}`).expect(200)).body;
  const eventsOf = async (id: string) =>
    (await api().get(`/api/canaries/${id}/events`).query({ limit: 500 }).expect(200)).body.items as Array<{
      type: string;
      message: string;
      evidence: Record<string, any>;
    }>;
  const alertsOf = async (flag: string, type: string) =>
    (await api().get('/api/alerts').query({ flag, type }).expect(200)).body.items as Array<{
      message: string;
      evidence: any;
    }>;
  /** The hour of the flag's traffic before now, all on the control (the flag's rollout is empty). */
  const history = (flag: string, seed: number, requests = 6_000) =>
    writeSyntheticRows(app, {
      flag,
      from: new Date(clock.nowMs() - HOUR),
      to: clock.now(),
      requests,
      users: 3_000,
      treatmentShare: 0,
      treatment,
      control,
      seed,
    });

  /**
   * A canary of one 10-minute 50% stage (then 100%) whose treatment fails 3% of 400 requests against the
   * control's 0.5%: +2.5 pp, past the +1 pp margin, on too few requests to prove it. The clock is then
   * at the stage's end; the canary's id is returned.
   */
  const unprovenLastStage = async (flag: string, seed: number): Promise<string> => {
    await createFlag(flag);
    await history(flag, seed);
    const stages = [
      { percentage: 50, durationSeconds: 600 },
      { percentage: 100, durationSeconds: 0 },
    ];
    const created = await api()
      .post('/api/canaries')
      .send({ flagKey: flag, variant: 'treatment', stages, analysis: { minRequests: 50 } })
      .expect(201);
    await writeSyntheticRows(app, {
      flag,
      from: clock.now(),
      to: new Date(clock.nowMs() + 600_000),
      requests: 400,
      users: 400,
      treatmentShare: 0.5,
      treatment: { ...treatment, errorRate: 0.03 },
      control,
      seed: seed + 100,
    });
    await clock.advance(600_000);
    return created.body.id;
  };

  it(
    'promotes an A/A canary with realistic latencies through 5 -> 15 -> 35 -> 65 -> 100 with the default analysis',
    async () => {
      await createFlag('aa-flag');
      await history('aa-flag', 1);
      const created = await api().post('/api/canaries').send({ flagKey: 'aa-flag', variant: 'treatment' }).expect(201);
      const id = created.body.id;
      expect(created.body.analysis).toMatchObject({ alpha: 0.05, minRequests: 200, srmPValue: 0.001 });
      const plan = [5, 15, 35, 65].map((percentage, i) => ({ percentage, seconds: [3600, 3600, 7200, 7200][i] }));
      for (const [index, stage] of plan.entries()) {
        const start = clock.nowMs();
        await writeSyntheticRows(app, {
          flag: 'aa-flag',
          from: new Date(start),
          to: new Date(start + stage.seconds * 1000),
          requests: 12_000,
          users: 3_000,
          treatmentShare: stage.percentage / 100,
          treatment,
          control,
          seed: 10 + index,
        });
        // Half-way: nothing is worse than its margin, and the stage is not over.
        await clock.advance((stage.seconds * 1000) / 2);
        expect((await canaryOf(id)).lastVerdict).toMatchObject({ outcome: 'pass', decision: 'wait', stage: index });
        await clock.advance((stage.seconds * 1000) / 2);
        const after = await canaryOf(id);
        expect(after.state).toBe(index < 3 ? 'running' : 'promoted');
      }
      const flag = (await api().get('/api/flags/aa-flag').expect(200)).body;
      expect(flag.rollout).toEqual({ treatment: 100 });
      const events = await eventsOf(id);
      expect(events.filter((e) => e.type !== 'verdict').map((e) => e.type)).toEqual([
        'created',
        'started',
        'stage_advanced',
        'stage_advanced',
        'stage_advanced',
        'promoted',
      ]);
      const promoted = events.find((e) => e.type === 'promoted')!;
      expect(promoted.message).toMatch(
        /^stage 4 \(65%\) healthy after 2\.0 h: no guardrail worse than its margin \(closest: .+\) at n = \d{1,3}(?:,\d{3})* \/ \d{1,3}(?:,\d{3})*; promoted: treatment at 100%$/,
      );
    },
    LONG,
  );

  it(
    'stores with every verdict, per metric, both arms, the difference, its confidence sequence, margin, alpha and n; and the SRM test',
    async () => {
      await createFlag('evidence-flag');
      await history('evidence-flag', 2);
      const created = await api()
        .post('/api/canaries')
        .send({
          flagKey: 'evidence-flag',
          variant: 'treatment',
          stages: [
            { percentage: 20, durationSeconds: 3600 },
            { percentage: 100, durationSeconds: 0 },
          ],
        })
        .expect(201);
      await writeSyntheticRows(app, {
        flag: 'evidence-flag',
        from: clock.now(),
        to: new Date(clock.nowMs() + 600_000),
        requests: 6_000,
        users: 2_000,
        treatmentShare: 0.2,
        treatment,
        control,
        seed: 20,
      });
      await clock.advance(600_000);
      const verdict: Verdict = (await canaryOf(created.body.id)).lastVerdict;
      expect(verdict).toMatchObject({ outcome: 'pass', decision: 'wait', percentage: 20 });
      expect(verdict.sentence).toMatch(
        /^judging stage 1 \(20%\), 10 min of 60 min: no guardrail worse than its margin/,
      );
      expect(verdict.alpha).toEqual({ canary: 0.05, perComparison: 0.05 / 8, stages: 1, comparisons: 8 });
      expect(verdict.n.treatment.requests).toBeGreaterThan(1_000);
      expect(verdict.n.treatment.users).toBeGreaterThan(300);
      expect(verdict.n.control.requests).toBeGreaterThan(4_000);
      expect(verdict.srm).toMatchObject({ checked: true, expectedShare: 0.2, threshold: 0.001, mismatch: false });
      expect(verdict.srm.pValue).toBeGreaterThan(0.001);
      expect(verdict.metrics.map((m) => m.metric)).toEqual([
        'errorRate',
        'abandonmentRate',
        'invalidRequestRate',
        'latencyP50',
        'latencyP95',
        'latencyP99',
        'ttftP50',
        'ttftP95',
      ]);
      for (const metric of verdict.metrics) {
        expect(metric).toEqual(
          expect.objectContaining({
            treatment: { estimate: expect.any(Number), n: expect.any(Number) },
            control: { estimate: expect.any(Number), n: expect.any(Number) },
            effect: expect.any(Number),
            margin: expect.any(Number),
            alpha: 0.05 / 8,
            pValue: expect.any(Number),
            status: expect.stringMatching(/^(within_margin|inconclusive)$/),
          }),
        );
        // A side the data cannot bound yet is null (a p99 from a thousand rows has no upper bound).
        expect(metric.interval).toHaveLength(2);
        expect(metric.interval[0]).toBeLessThanOrEqual(metric.effect);
        if (metric.interval[1] !== null) expect(metric.interval[1]).toBeGreaterThanOrEqual(metric.effect);
      }
      const p99 = verdict.metrics.find((m) => m.metric === 'latencyP99')!;
      expect(p99).toMatchObject({ scale: 'ratio', margin: 1.2, marginType: 'relative' });
      expect(p99.treatment.estimate).toBeGreaterThan(1_000);
      expect(p99.treatment.estimate).toBeLessThan(3_000);
      const events = await eventsOf(created.body.id);
      expect(events.at(-1)!.evidence).toMatchObject({ sentence: verdict.sentence, metrics: verdict.metrics });
      await api().post(`/api/canaries/${created.body.id}/abort`).expect(200);
    },
    LONG,
  );

  it(
    'rolls back a treatment whose error rate is beyond the margin, saying so with the numbers',
    async () => {
      await createFlag('errors-flag');
      await history('errors-flag', 3);
      const created = await api()
        .post('/api/canaries')
        .send({ flagKey: 'errors-flag', variant: 'treatment' })
        .expect(201);
      await writeSyntheticRows(app, {
        flag: 'errors-flag',
        from: clock.now(),
        to: new Date(clock.nowMs() + 900_000),
        requests: 12_000,
        users: 3_000,
        treatmentShare: 0.05,
        treatment: { ...treatment, errorRate: 0.08 },
        control,
        seed: 30,
      });
      await clock.advance(900_000);
      const canary = await canaryOf(created.body.id);
      expect(canary.state).toBe('rolled_back');
      expect(canary.lastVerdict.sentence).toMatch(
        /^rolled back in stage 1 \(5%\): error rate \+\d+\.\d pp \[\+\d+\.\d, \+\d+\.\d\] > margin \+1 pp at n = \d{1,3}(?:,\d{3})* \/ \d{1,3}(?:,\d{3})*$/,
      );
      const [alert] = await alertsOf('errors-flag', 'canary.rolled_back');
      expect(alert.message).toContain(canary.lastVerdict.sentence);
      expect((await api().get('/api/flags/errors-flag').expect(200)).body.rollout).toEqual({ treatment: 0 });
    },
    LONG,
  );

  it(
    'does not promote a regression its last stage cannot prove: extends with an alert, then pauses for a person',
    async () => {
      const id = await unprovenLastStage('unproven-flag', 8);
      const extended = await canaryOf(id);
      expect(extended).toMatchObject({ state: 'running', lastVerdict: { outcome: 'pass', decision: 'extend' } });
      const errors = extended.lastVerdict.metrics.find((m: { metric: string }) => m.metric === 'errorRate');
      expect(errors).toMatchObject({ status: 'inconclusive', margin: 0.01 });
      expect(errors.effect).toBeGreaterThan(0.01);
      expect(extended.lastVerdict.sentence).toMatch(
        /^extended stage 1 \(50%\) after 10 min of 10 min \(up to 30 min\): .*error rate \+\d\.\d pp \[.+\] vs \+1 pp.* neither harm nor safety shown yet at n = \d+ \/ \d+; judging on: harm at every look, the estimates again at 20 min$/,
      );
      const [alert] = await alertsOf('unproven-flag', 'canary.extended');
      expect(alert.message).toBe(`Canary on unproven-flag ${extended.lastVerdict.sentence}`);
      expect((await api().get('/api/flags/unproven-flag').expect(200)).body.rollout).toEqual({ treatment: 50 });

      // The extensions pass with nothing to settle it: a person decides.
      await clock.advance(1_200_000);
      const paused = await canaryOf(id);
      expect(paused).toMatchObject({ state: 'paused', lastVerdict: { outcome: 'pass', decision: 'pause' } });
      expect(paused.lastVerdict.sentence).toMatch(
        /^paused in stage 1 \(50%\): still past a margin after 2 extensions \(30 min in the stage\): .*error rate \+\d\.\d pp .*, neither harm nor safety shown; resume to judge a fresh window, or abort$/,
      );
      const events = await eventsOf(id);
      expect(events.filter((e) => e.type !== 'verdict').map((e) => e.type)).toEqual([
        'created',
        'started',
        'stage_extended',
        'paused',
      ]);
      expect((await alertsOf('unproven-flag', 'canary.extended')).length).toBe(1);
      expect((await api().get('/api/flags/unproven-flag').expect(200)).body.rollout).toEqual({ treatment: 50 });
    },
    LONG,
  );

  it(
    'promotes an extended stage once more traffic brings every estimate within its margin',
    async () => {
      // An unlucky start: the treatment's first requests fail more often than it will.
      const id = await unprovenLastStage('settles-flag', 9);
      expect((await canaryOf(id)).lastVerdict).toMatchObject({ decision: 'extend' });
      // Five minutes of the treatment as it is: as good as the control.
      await writeSyntheticRows(app, {
        flag: 'settles-flag',
        from: clock.now(),
        to: new Date(clock.nowMs() + 300_000),
        requests: 12_000,
        users: 3_000,
        treatmentShare: 0.5,
        treatment,
        control,
        seed: 37,
      });
      // Within its margin halfway through the extension: judged for harm only until the extension ends.
      await clock.advance(300_000);
      const judging = await canaryOf(id);
      expect(judging).toMatchObject({ state: 'running', lastVerdict: { outcome: 'pass', decision: 'extend' } });
      expect(judging.lastVerdict.sentence).toMatch(
        /^judging extended stage 1 \(50%\), 15 min \(up to 30 min\): no harm shown, no guardrail worse than its margin .*; the estimates are judged for promotion at 20 min$/,
      );
      expect((await api().get('/api/flags/settles-flag').expect(200)).body.rollout).toEqual({ treatment: 50 });
      await clock.advance(300_000);
      const promoted = await canaryOf(id);
      expect(promoted.state).toBe('promoted');
      expect(promoted.lastVerdict.sentence).toMatch(
        /^stage 1 \(50%\) healthy after 20 min: no guardrail worse than its margin .*; promoted: treatment at 100%$/,
      );
      expect((await api().get('/api/flags/settles-flag').expect(200)).body.rollout).toEqual({ treatment: 100 });
    },
    LONG,
  );

  it(
    'holds through a shared outage (both arms failing, the control too), and never rolls back',
    async () => {
      await createFlag('outage-flag');
      await history('outage-flag', 4);
      const created = await api()
        .post('/api/canaries')
        .send({
          flagKey: 'outage-flag',
          variant: 'treatment',
          stages: [
            { percentage: 50, durationSeconds: 1800 },
            { percentage: 100, durationSeconds: 0 },
          ],
        })
        .expect(201);
      const id = created.body.id;
      const start = clock.nowMs();
      const window = (from: number, to: number, seed: number, outage: Partial<SyntheticArm>) =>
        writeSyntheticRows(app, {
          flag: 'outage-flag',
          from: new Date(from),
          to: new Date(to),
          requests: Math.round((to - from) / 250),
          users: 2_000,
          treatmentShare: 0.5,
          treatment: { ...treatment, ...outage },
          control: { ...control, ...outage },
          seed,
        });
      // 25 healthy minutes, then an outage of the provider: 30% errors and latencies ×3 on both arms.
      await window(start, start + 1_500_000, 40, {});
      await window(start + 1_500_000, start + 1_800_000, 41, { errorRate: 0.3, medianMs: 1_500 });
      await clock.advanceTo(start + 1_800_000);
      const held = await canaryOf(id);
      expect(held).toMatchObject({
        state: 'running',
        lastVerdict: { outcome: 'hold', decision: 'hold', atStageEnd: true },
      });
      expect(held.lastVerdict.sentence).toMatch(
        /^holding in stage 1 \(50%\): control degraded too: error rate \d+\.\d% in the last 5 min vs 0\.\d% in the hour before/,
      );
      const degraded = held.lastVerdict.degradation
        .filter((check: { degraded: boolean }) => check.degraded)
        .map((check: { key: string }) => check.key);
      expect(degraded).toEqual(expect.arrayContaining(['errorRate', 'latency:0.5']));
      // The outage goes on: every look holds, none rolls back, the weight stays.
      await window(start + 1_800_000, start + 2_400_000, 42, { errorRate: 0.3, medianMs: 1_500 });
      for (let minute = 1; minute <= 10; minute++) await clock.advance(60_000);
      const events = await eventsOf(id);
      expect(events.map((e) => e.type)).not.toContain('rolled_back');
      expect(events.filter((e) => e.type === 'held')).toHaveLength(1);
      expect((await canaryOf(id)).state).toBe('running');
      expect((await api().get('/api/flags/outage-flag').expect(200)).body.rollout).toEqual({ treatment: 50 });
      const [alert] = await alertsOf('outage-flag', 'canary.held');
      expect(alert.message).toMatch(/holding in stage 1 \(50%\): control degraded too/);
      await api().post(`/api/canaries/${id}/abort`).send({ reason: 'test over' }).expect(200);
    },
    LONG,
  );

  it(
    'holds a stage shorter than an incident until the control is well again, then promotes: no pause',
    async () => {
      await createFlag('short-outage-flag');
      await history('short-outage-flag', 43);
      const created = await api()
        .post('/api/canaries')
        .send({
          flagKey: 'short-outage-flag',
          variant: 'treatment',
          // A minute's stage with two extensions: its own limit is 3 minutes.
          stages: [
            { percentage: 50, durationSeconds: 60 },
            { percentage: 100, durationSeconds: 0 },
          ],
          analysis: { minRequests: 50, guardrails: LATENCY_GUARDRAILS_OFF },
        })
        .expect(201);
      const id = created.body.id;
      const start = clock.nowMs();
      const window = (from: number, to: number, seed: number, outage: Partial<SyntheticArm>) =>
        writeSyntheticRows(app, {
          flag: 'short-outage-flag',
          from: new Date(from),
          to: new Date(to),
          requests: Math.round((to - from) / 50),
          users: 2_000,
          treatmentShare: 0.5,
          treatment: { ...treatment, ...outage },
          control: { ...control, ...outage },
          seed,
        });
      // The provider fails 10% of both arms' requests for 8 minutes from the canary's start.
      await window(start, start + 480_000, 44, { errorRate: 0.1 });
      for (let minute = 1; minute <= 8; minute++) await clock.advance(60_000);
      const held = await canaryOf(id);
      expect(held).toMatchObject({ state: 'running', lastVerdict: { outcome: 'hold', decision: 'hold' } });
      expect((await api().get('/api/flags/short-outage-flag').expect(200)).body.rollout).toEqual({ treatment: 50 });
      // Well again: once the control's last 5 minutes are clear of it, the stage is judged and promoted.
      await window(start + 480_000, start + 840_000, 45, {});
      for (let minute = 9; minute <= 14; minute++) await clock.advance(60_000);
      const promoted = await canaryOf(id);
      expect(promoted.state).toBe('promoted');
      const events = await eventsOf(id);
      expect(events.filter((e) => e.type !== 'verdict').map((e) => e.type)).toEqual([
        'created',
        'started',
        'held',
        'promoted',
      ]);
    },
    LONG,
  );

  it(
    'ends a stage at the tick of its end though that tick runs earlier in its period than the stage began',
    async () => {
      await createFlag('jitter-flag');
      // A tick 7 ms into its period starts the stage; the tick of its end runs 2 ms into its own.
      await clock.advanceTo(Math.ceil(clock.nowMs() / TICK_MS) * TICK_MS + 7);
      await history('jitter-flag', 47);
      const created = await api()
        .post('/api/canaries')
        .send({
          flagKey: 'jitter-flag',
          variant: 'treatment',
          stages: [
            { percentage: 50, durationSeconds: 600 },
            { percentage: 100, durationSeconds: 0 },
          ],
          analysis: { minRequests: 50, guardrails: LATENCY_GUARDRAILS_OFF },
        })
        .expect(201);
      const started = Date.parse(created.body.stage.startedAt);
      expect(started % TICK_MS).toBe(7);
      await writeSyntheticRows(app, {
        flag: 'jitter-flag',
        from: new Date(started),
        to: new Date(started + 600_000),
        requests: 12_000,
        users: 3_000,
        treatmentShare: 0.5,
        treatment,
        control,
        seed: 48,
      });
      await clock.advanceTo(started - 7 + 600_000 + 2);
      const promoted = await canaryOf(created.body.id);
      expect(promoted).toMatchObject({ state: 'promoted', lastVerdict: { decision: 'promote' } });
      expect(promoted.lastVerdict.sentence).toMatch(/^stage 1 \(50%\) healthy after 10 min: /);
    },
    LONG,
  );

  it(
    'pauses on a sample-ratio mismatch with an alert that names the counts, neither rolling back nor promoting',
    async () => {
      await createFlag('srm-flag');
      await history('srm-flag', 5);
      const created = await api().post('/api/canaries').send({ flagKey: 'srm-flag', variant: 'treatment' }).expect(201);
      // The weights say 5%; 3.5% of the users reach the treatment (some lost on the way).
      await writeSyntheticRows(app, {
        flag: 'srm-flag',
        from: clock.now(),
        to: new Date(clock.nowMs() + 1_200_000),
        requests: 20_000,
        users: 20_000,
        treatmentShare: 0.035,
        treatment,
        control,
        seed: 50,
      });
      await clock.advance(1_200_000);
      const canary = await canaryOf(created.body.id);
      expect(canary).toMatchObject({ state: 'paused', lastVerdict: { outcome: 'srm', decision: 'pause' } });
      expect(canary.lastVerdict.srm.pValue).toBeLessThan(0.001);
      const [alert] = await alertsOf('srm-flag', 'canary.paused');
      expect(alert.message).toMatch(
        /paused in stage 1 \(5%\): sample ratio mismatch: \d{1,3}(?:,\d{3})* treatment \/ \d{1,3}(?:,\d{3})* control users .*the weights in force give the treatment 5\.0% \(p = .+ < 0\.001\)/,
      );
      expect((await api().get('/api/flags/srm-flag').expect(200)).body.rollout).toEqual({ treatment: 5 });
    },
    LONG,
  );

  it(
    "previews a plan from the flag's last hour: requests per arm and stage, detectable regressions, time to the first verdict",
    async () => {
      // The flags have existed for the hour the preview reads.
      for (const flag of ['preview-flag', 'sparse-preview-flag', 'quiet-preview-flag']) await createFlag(flag);
      await clock.advance(HOUR);
      await history('preview-flag', 6, 36_000); // 10 requests/s
      const body = { flagKey: 'preview-flag', variant: 'treatment' };
      const preview = (await api().post('/api/canaries/preview').send(body).expect(200)).body;
      expect(preview.window.from).toBe(new Date(clock.nowMs() - HOUR).toISOString());
      expect(preview.traffic.requestsPerSecond).toBeCloseTo(10, 1);
      expect(preview.traffic.latencyMs.p50).toBeGreaterThan(400);
      expect(preview.traffic.latencyMs.p50).toBeLessThan(620);
      expect(preview.stages.map((s: { percentage: number }) => s.percentage)).toEqual([5, 15, 35, 65]);
      const [first, second] = preview.stages;
      expect(first.expectedRequests.treatment).toBeGreaterThan(1_600);
      expect(first.expectedRequests.treatment).toBeLessThan(2_000);
      expect(first.enoughTraffic).toBe(true);
      const errors = first.detectable.find((d: { metric: string }) => d.metric === 'errorRate');
      expect(errors).toMatchObject({ scale: 'difference', margin: 0.01 });
      expect(errors.detectable).toBeGreaterThan(0.01);
      expect(errors.detectable).toBeLessThan(0.05);
      const p99 = first.detectable.find((d: { metric: string }) => d.metric === 'latencyP99');
      expect(p99.detectable).toBeGreaterThan(1.2);
      // More traffic on the treatment in stage 2: smaller regressions are detectable.
      const errors2 = second.detectable.find((d: { metric: string }) => d.metric === 'errorRate');
      expect(errors2.detectable).toBeLessThan(errors.detectable);
      expect(preview.firstDecisionSeconds).toBeGreaterThan(300);
      expect(preview.firstDecisionSeconds).toBeLessThan(500);
      expect(preview.warnings).toEqual([]);
      // A week at 50%: about 6 million requests in the stage's window, each read by every look.
      const long = (
        await api()
          .post('/api/canaries/preview')
          .send({
            ...body,
            stages: [
              { percentage: 50, durationSeconds: 7 * 86_400 },
              { percentage: 100, durationSeconds: 0 },
            ],
          })
          .expect(200)
      ).body;
      expect(long.warnings).toEqual([
        expect.stringMatching(
          /^stage 1 \(50%\) expects about 6\.\d million requests: every look aggregates all of them in Postgres .* prefer shorter stages$/,
        ),
      ]);
      // A shared incident holds a stage until the control's last 5 minutes (and a 10-s tick) are past it,
      // for half an hour at least: stages of a minute or two wait it out like an hour's (no warning).
      const short = [
        { percentage: 5, durationSeconds: 60 },
        { percentage: 15, durationSeconds: 100 },
        { percentage: 50, durationSeconds: 3600 },
        { percentage: 100, durationSeconds: 0 },
      ];
      const brief = (
        await api()
          .post('/api/canaries/preview')
          .send({ ...body, stages: short })
          .expect(200)
      ).body;
      expect(brief.warnings.filter((warning: string) => warning.includes('provider incident'))).toEqual([]);
      // Nothing was created.
      expect((await api().get('/api/canaries').query({ flagKey: 'preview-flag' }).expect(200)).body.items).toEqual([]);

      // 80 requests an hour: the first stage's 4 treatment requests could not show even an error rate of
      // 100%, which the plan says (null) rather than a regression of more than 100 pp.
      await history('sparse-preview-flag', 7, 80);
      const sparse = (
        await api()
          .post('/api/canaries/preview')
          .send({ ...body, flagKey: 'sparse-preview-flag' })
          .expect(200)
      ).body;
      const sparseErrors = sparse.stages[0].detectable.find((d: { metric: string }) => d.metric === 'errorRate');
      expect(sparseErrors).toMatchObject({ margin: 0.01, detectable: null });

      const quiet = (
        await api()
          .post('/api/canaries/preview')
          .send({ ...body, flagKey: 'quiet-preview-flag' })
          .expect(200)
      ).body;
      expect(quiet.warnings[0]).toMatch(/no judged requests in the last 60 min/);
      const refused = await api()
        .post('/api/canaries/preview')
        .send({ ...body, analysis: { alpha: 2 } })
        .expect(400);
      expect(refused.body.details).toEqual(['analysis.alpha must be a number above 0 and at most 0.5, got 2']);
    },
    LONG,
  );

  it(
    'previews a flag younger than an hour, or whose traffic began lately, at the rate of the time observed',
    async () => {
      // A minute old, at 10 requests/s: 10 requests/s, not the 0.17 its minute would be over an hour.
      await createFlag('young-preview-flag');
      const created = clock.nowMs();
      await writeSyntheticRows(app, {
        flag: 'young-preview-flag',
        from: new Date(created),
        to: new Date(created + 60_000),
        requests: 600,
        users: 300,
        treatmentShare: 0,
        treatment,
        control,
        seed: 8,
      });
      await clock.advance(60_000);
      const body = { flagKey: 'young-preview-flag', variant: 'treatment' };
      const young = (await api().post('/api/canaries/preview').send(body).expect(200)).body;
      expect(young.window).toEqual({ from: new Date(created).toISOString(), to: clock.now().toISOString() });
      expect(young.traffic.requestsPerSecond).toBeCloseTo(10, 6);
      // minRequests (200) on the first stage's 5%: 400 s, not hours.
      expect(young.firstDecisionSeconds).toBeCloseTo(400, 6);

      // An hour old, with traffic for the last two minutes only (a policy began to read it).
      await createFlag('late-preview-flag');
      await clock.advance(HOUR);
      const begins = clock.nowMs();
      await writeSyntheticRows(app, {
        flag: 'late-preview-flag',
        from: new Date(begins),
        to: new Date(begins + 120_000),
        requests: 1_200,
        users: 300,
        treatmentShare: 0,
        treatment,
        control,
        seed: 9,
      });
      await clock.advance(120_000);
      const late = (
        await api()
          .post('/api/canaries/preview')
          .send({ ...body, flagKey: 'late-preview-flag' })
          .expect(200)
      ).body;
      expect(late.window.from).toBe(new Date(begins).toISOString());
      expect(late.traffic.requestsPerSecond).toBeCloseTo(10, 6);

      // An hour later, one request: traffic that began before the hour keeps the whole hour.
      await clock.advance(HOUR);
      await writeSyntheticRows(app, {
        flag: 'late-preview-flag',
        from: new Date(clock.nowMs() - 10_000),
        to: clock.now(),
        requests: 1,
        users: 1,
        treatmentShare: 0,
        treatment,
        control,
        seed: 10,
      });
      const sparse = (
        await api()
          .post('/api/canaries/preview')
          .send({ ...body, flagKey: 'late-preview-flag' })
          .expect(200)
      ).body;
      expect(sparse.window.from).toBe(new Date(clock.nowMs() - HOUR).toISOString());
      expect(sparse.traffic.requestsPerSecond).toBeCloseTo(1 / 3600, 9);
    },
    LONG,
  );

  it(
    "leaves upstream 400s caused by the callers' requests out of every statistic but the invalid-request rate",
    async () => {
      // Through the real gateway and simulator: the chat policy reads the chat-model flag.
      await api()
        .post('/api/flags')
        .send({
          key: 'chat-model',
          variants: { control: 'deepseek-v3.2', treatment: 'gemini-2.5-flash' },
          defaultVariant: 'control',
        })
        .expect(201);
      const created = await api()
        .post('/api/canaries')
        .send({
          flagKey: 'chat-model',
          variant: 'treatment',
          stages: [
            { percentage: 50, durationSeconds: 3600 },
            { percentage: 100, durationSeconds: 0 },
          ],
          analysis: { minRequests: 20 },
        })
        .expect(201);
      const id = created.body.id;
      const from = created.body.stage.startedAt;
      const users = Array.from({ length: 40 }, (_, i) => `chat-user-${i}`);
      const send = async (count: number, status: number) => {
        for (let i = 0; i < count; i++) {
          await fetch(`${app.url}/v1/chat/completions`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-user-id': users[i % users.length],
              authorization: `Bearer ${app.adminKey}`,
            },
            body: JSON.stringify({ model: 'route:chat', messages: [{ role: 'user', content: 'Hello?' }] }),
          }).then((response) => expect(response.status).toBe(status));
        }
      };
      await send(160, 200);
      await rows.waitFor('chat-model', from, {
        treatment: (arm) => arm.requests >= 20,
        control: (arm) => arm.requests >= 20,
      });
      await expectAllRows(160);
      await clock.advance(TICK_MS);
      const before: Verdict = (await canaryOf(id)).lastVerdict;
      expect(before.outcome).toBe('pass');

      // A caller's bug: the same users' next requests are refused by whichever model they reach.
      for (const model of ['deepseek-v3.2', 'gemini-2.5-flash']) {
        await request(app.simulatorUrl)
          .post(`/_simulator/faults/${model}`)
          .send({ status: 400, count: 100 })
          .expect(200);
      }
      try {
        await send(80, 400);
      } finally {
        await request(app.simulatorUrl)
          .post('/_simulator/reset')
          .expect((response) => expect(response.status).toBeLessThan(300));
      }
      await expectAllRows(240);
      await clock.advance(TICK_MS);
      const after: Verdict = (await canaryOf(id)).lastVerdict;
      expect(after.outcome).not.toBe('fail');
      expect(after.n).toEqual(before.n);
      expect(after.srm.units).toEqual(before.srm.units);
      const byMetric = (verdict: Verdict) => Object.fromEntries(verdict.metrics.map((m) => [m.metric, m]));
      const [b, a] = [byMetric(before), byMetric(after)];
      for (const metric of Object.keys(b).filter((key) => key !== 'invalidRequestRate')) {
        expect({ metric, treatment: a[metric].treatment, control: a[metric].control }).toEqual({
          metric,
          treatment: b[metric].treatment,
          control: b[metric].control,
        });
      }
      // Only the guardrail for exactly this moved, on both arms alike: no harm.
      expect(a.invalidRequestRate.treatment.estimate).toBeGreaterThan(0.2);
      expect(a.invalidRequestRate.control.estimate).toBeGreaterThan(0.2);
      expect(a.invalidRequestRate.status).not.toBe('harm');
      expect((await canaryOf(id)).state).toBe('running');
      await api().post(`/api/canaries/${id}/abort`).expect(200);

      /** Every request sent has its row (the writer flushes on its own timer): each tick judges them all. */
      async function expectAllRows(count: number) {
        await eventually(
          async () => ((await rows.count('chat-model', from)) >= count ? true : undefined),
          30_000,
          `${count} rows`,
        );
      }
    },
    LONG,
  );
});

import { readFileSync } from 'node:fs';
import { ManualClock } from '../src/common/manual-clock';
import { parsePrometheus, type PrometheusSample } from './support/prometheus';
import { writeSyntheticRows, type SyntheticArm } from './support/synthetic-metrics';
import { api, policiesFor, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';

/*
 * The canary analysis in Prometheus: per active canary, metric and arm, the same numbers as the
 * latest verdict of GET /api/canaries/:id, each with its margin; gone once the canary ends.
 * Ten minutes of traffic are written as metric rows on a ManualClock; the tick runs when it moves.
 */
const TICK_MS = 10_000;
const control: SyntheticArm = { variant: 'control', model: 'deepseek-v3.2' };
const treatment: SyntheticArm = { variant: 'treatment', model: 'gemini-2.5-flash' };

describe('canary gauges in /metrics', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  const clock = new ManualClock(Math.floor(Date.now() / TICK_MS) * TICK_MS);

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      databaseUrl: database.url,
      clock,
      env: { CANARY_TICK_SECONDS: '10', METRICS_FLUSH_INTERVAL_MS: '20' },
      catalog: await writeTestCatalog(policiesFor('gauge-flag')),
    });
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const scrape = async () => parsePrometheus((await api(app).get('/metrics').expect(200)).text);
  const of = (samples: PrometheusSample[], name: string, labels: Record<string, string>) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

  it('exports every analysis value of the latest verdict with its margin, and drops the series when the canary ends', async () => {
    await api(app)
      .post('/api/flags')
      .send({
        key: 'gauge-flag',
        variants: { control: control.model, treatment: treatment.model },
        defaultVariant: 'control',
        rollout: {},
      })
      .expect(201);
    const created = await api(app)
      .post('/api/canaries')
      .send({
        flagKey: 'gauge-flag',
        variant: 'treatment',
        stages: [
          { percentage: 20, durationSeconds: 3600 },
          { percentage: 100, durationSeconds: 0 },
        ],
      })
      .expect(201);
    const id: string = created.body.id;
    await writeSyntheticRows(app, {
      flag: 'gauge-flag',
      from: clock.now(),
      to: new Date(clock.nowMs() + 600_000),
      requests: 6_000,
      users: 2_000,
      treatmentShare: 0.2,
      treatment,
      control,
      seed: 7,
    });
    await clock.advance(600_000);
    const verdict = (await api(app).get(`/api/canaries/${id}`).expect(200)).body.lastVerdict;
    expect(verdict.metrics.length).toBeGreaterThan(0);

    const samples = await scrape();
    const mine = { canary: id, flag: 'gauge-flag' };
    expect(of(samples, 'switchyard_canary_stage', mine)).toEqual([
      { name: 'switchyard_canary_stage', labels: { ...mine, state: 'running' }, value: 1 },
    ]);
    expect(of(samples, 'switchyard_canary_treatment_share', { ...mine, kind: 'planned' })[0].value).toBe(0.2);
    const units = verdict.srm.units;
    expect(of(samples, 'switchyard_canary_treatment_share', { ...mine, kind: 'observed' })[0].value).toBeCloseTo(
      units.treatment / (units.treatment + units.control),
      12,
    );
    expect(of(samples, 'switchyard_canary_requests', { ...mine, arm: 'treatment' })[0].value).toBe(
      verdict.n.treatment.requests,
    );
    expect(of(samples, 'switchyard_canary_requests', { ...mine, arm: 'control' })[0].value).toBe(
      verdict.n.control.requests,
    );
    expect(of(samples, 'switchyard_canary_srm_p_value', { ...mine, kind: 'threshold' })[0].value).toBe(0.001);
    for (const metric of verdict.metrics) {
      const labels = { ...mine, metric: metric.metric };
      const value = (name: string, extra: Record<string, string>) => of(samples, name, { ...labels, ...extra });
      if (metric.treatment.estimate !== null)
        expect(value('switchyard_canary_metric_value', { arm: 'treatment' })[0].value).toBeCloseTo(
          metric.treatment.estimate,
          9,
        );
      if (metric.control?.estimate !== null && metric.control?.estimate !== undefined)
        expect(value('switchyard_canary_metric_value', { arm: 'control' })[0].value).toBeCloseTo(
          metric.control.estimate,
          9,
        );
      expect(value('switchyard_canary_metric_margin', { type: metric.marginType })[0].value).toBeCloseTo(
        metric.margin,
        12,
      );
      if (metric.effect !== null)
        expect(value('switchyard_canary_metric_effect', { scale: metric.scale })[0].value).toBeCloseTo(
          metric.effect,
          9,
        );
      if (metric.interval?.[0] !== null && metric.interval?.[0] !== undefined)
        expect(value('switchyard_canary_metric_interval', { bound: 'low' })[0].value).toBeCloseTo(
          metric.interval[0],
          9,
        );
      expect(value('switchyard_canary_metric_harm', {})[0].value).toBe(metric.status === 'harm' ? 1 : 0);
    }
    // The error rate's margin is the default's +1 pp, on the difference scale.
    expect(of(samples, 'switchyard_canary_metric_margin', { ...mine, metric: 'errorRate' })[0]).toMatchObject({
      labels: { type: 'absolute' },
      value: 0.01,
    });

    // The committed Grafana dashboard queries only series the app exports.
    const dashboard = readFileSync('docs/grafana/canaries.json', 'utf8');
    const used = new Set(dashboard.match(/switchyard_canary_\w+/g));
    const exported = new Set(samples.map((s) => s.name));
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);

    // A verdict stored before the decision engine (a migrated canary) has fewer numbers: the scrape
    // still answers, with what there is.
    await queryRows(database.url, `UPDATE canaries SET last_verdict = $1 WHERE id = $2`, [
      JSON.stringify({ at: clock.now().toISOString(), outcome: 'pass', reasons: [] }),
      id,
    ]);
    const legacy = await scrape();
    expect(of(legacy, 'switchyard_canary_stage', mine)).toHaveLength(1);
    expect(of(legacy, 'switchyard_canary_metric_value', mine)).toEqual([]);

    await api(app).post(`/api/canaries/${id}/abort`).send({ reason: 'gauges checked' }).expect(200);
    const after = await scrape();
    expect(after.filter((s) => s.name.startsWith('switchyard_canary_') && s.labels.canary === id)).toEqual([]);
  });
});

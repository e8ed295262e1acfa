import { HealthIndicatorService, type TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { MetricsConfig } from '../config/metrics.config';
import type { FlagsService } from '../flags/flags.service';
import type { MetricsHealthIndicator } from '../metrics/metrics.health';
import { DatabaseHealthIndicator } from './database.health';

/**
 * The e2e tests (test/health.e2e-spec.ts) stop a real database; what they cannot produce is a
 * replica whose flags never loaded (the app does not start without its database), so that rule
 * is checked here with the database's answer and the two facts it depends on given directly.
 */
function indicator(facts: { databaseUp: boolean; flagsLoaded: boolean; queued: number }) {
  const health = new HealthIndicatorService();
  const ping = {
    pingCheck: async () =>
      facts.databaseUp
        ? health.check('database').up()
        : health.check('database').down({ message: 'connect ECONNREFUSED <address>' }),
  } as unknown as TypeOrmHealthIndicator;
  const flags = { flagsLoaded: facts.flagsLoaded } as FlagsService;
  const metrics = {
    check: () => health.check('metrics').up({ queued: facts.queued }),
  } as unknown as MetricsHealthIndicator;
  const settings = { enabled: true, queueLimit: 100 } as MetricsConfig;
  return new DatabaseHealthIndicator(ping, flags, metrics, health, settings);
}

describe('DatabaseHealthIndicator', () => {
  it('is up when the database answers, whatever the queue', async () => {
    expect(await indicator({ databaseUp: true, flagsLoaded: true, queued: 99 }).check()).toEqual({
      database: { status: 'up' },
    });
  });

  it('is degraded while the database is down, the flags are loaded and the queue has room', async () => {
    const { database } = await indicator({ databaseUp: false, flagsLoaded: true, queued: 89 }).check();
    expect(database).toMatchObject({ status: 'degraded', metricsQueue: { queued: 89, limit: 100 } });
  });

  it('is down when the flags were never loaded, even with an empty queue', async () => {
    const { database } = await indicator({ databaseUp: false, flagsLoaded: false, queued: 0 }).check();
    expect(database).toEqual({
      status: 'down',
      message: 'connect ECONNREFUSED <address>',
      servable: 'no: the flags were never loaded, so requests cannot be routed',
    });
  });

  it('is down from 90% of METRICS_QUEUE_LIMIT on', async () => {
    const { database } = await indicator({ databaseUp: false, flagsLoaded: true, queued: 90 }).check();
    expect(database).toMatchObject({ status: 'down', metricsQueue: { queued: 90, limit: 100 } });
  });
});

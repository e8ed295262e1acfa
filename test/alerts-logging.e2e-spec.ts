import type { NewAlert } from '../src/alerts/alert.types';
import { AlertsService } from '../src/alerts/alerts.service';
import { createTestDatabase, queryRows } from './support/test-database';
import { startTestApp, type TestApp } from './support/test-app';
import { eventually, WebhookServer } from './support/webhook-server';

/*
 * In its own file because nestjs-pino keeps one root logger per process (per jest file): the first
 * app started fixes the log level, and this test needs debug while the others run at error.
 */

const SECRET = 'whsec-test-0123456789abcdef';
const HOOK_PATH = '/services/T0001/B0002/hook-path-token-7f3a';
const FAST = { ALERT_SEND_INTERVAL_MS: '25', ALERT_RETRY_BASE_MS: '20', ALERT_RETRY_MAX_MS: '200', ALERT_WEBHOOK_TIMEOUT_MS: '2000' };

type Database = Awaited<ReturnType<typeof createTestDatabase>>;

let sequence = 0;
const alert = (extra: Partial<NewAlert> = {}): NewAlert => ({
  type: 'canary.rolled_back',
  dedupKey: `log-test:${Date.now()}:${++sequence}`,
  message: 'Treatment error rate 4.1% exceeded 2%',
  flag: 'recommendations-model',
  ...extra,
});

async function raise(app: TestApp, input: NewAlert): Promise<string> {
  const result = await app.app.get(AlertsService).raise(input);
  if (!result.created) throw new Error('expected a new alert');
  return result.id;
}

const waitForStatus = (db: Database, id: string, status: string) =>
  eventually(async () => {
    const [row] = await queryRows<{ status: string }>(db.url, 'SELECT status FROM alerts WHERE id = $1', [id]);
    return row?.status === status;
  }, 5000, `alert ${id} to be ${status}`);

describe('alerts: logs name webhooks by origin only', () => {
  let database: Database;
  let app: TestApp;
  const webhook = new WebhookServer();
  const captured: string[] = [];
  const originalWrite = process.stdout.write.bind(process.stdout);

  beforeAll(async () => {
    database = await createTestDatabase();
    await webhook.start();
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured.push(String(chunk));
      return (originalWrite as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    app = await startTestApp({
      databaseUrl: database.url,
      env: { ...FAST, LOG_LEVEL: 'debug', ALERT_WEBHOOK_URL: webhook.url(HOOK_PATH), ALERT_WEBHOOK_SECRET: SECRET, ALERT_MAX_ATTEMPTS: '2' },
    });
  });
  afterAll(async () => {
    await app?.close();
    process.stdout.write = originalWrite;
    await webhook.stop();
    await database?.drop();
  });

  it('logs deliveries, retries and failures without the secret or the URL path', async () => {
    let calls = 0;
    webhook.reply = () => (calls++ === 0 ? 503 : 200);
    const retried = await raise(app, alert());
    await waitForStatus(database, retried, 'delivered');
    const refused = await raise(app, alert({ targetUrl: 'http://user:pw-in-url@127.0.0.1:9/refused-path-token' }));
    await waitForStatus(database, refused, 'failed');

    const logs = captured.join('');
    expect(logs).toContain('alert delivery failed; will retry');
    expect(logs).toContain('alert delivered');
    expect(logs).toContain('alert delivery failed for good');
    expect(logs).toContain(new URL(webhook.url()).origin);
    for (const secret of [SECRET, HOOK_PATH, 'hook-path-token-7f3a', 'refused-path-token', 'pw-in-url']) expect(logs).not.toContain(secret);
  });
});

/*
 * `npm run demo:canary`: two canaries in compressed time against the built-in simulator.
 *
 *   1. recommendations-model: a healthy treatment goes 5 -> 15 -> 35 -> 65 -> 100% and is promoted.
 *   2. chat-model: the treatment's model starts failing in stage 2; the canary rolls it back.
 *
 * It boots the real gateway in this process (embedded Postgres in a temporary folder unless
 * DATABASE_URL is set, simulator on a free port), sends traffic from many users, and prints each
 * verdict and every alert a local webhook receives. Nothing here is simulated but the LLM provider.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey } from '../src/access/api-key-format';
import { createApp, shutDownApp } from '../src/bootstrap';
import { DEFAULT_CATALOG } from '../src/config/catalog.config';

const STAGE_SECONDS = Number(process.env.DEMO_STAGE_SECONDS ?? 4);
const started = Date.now();

function log(message: string): void {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'switchyard-demo-'));
  // Run as root, embedded Postgres drops to a `postgres` user, which must be able to enter the folder.
  await chmod(workDir, 0o755);
  const simulatorPort = await freePort();
  const catalog = structuredClone(DEFAULT_CATALOG) as typeof DEFAULT_CATALOG & { simulator: { port: number } };
  catalog.providers[0].baseUrl = `http://127.0.0.1:${simulatorPort}/v1`;
  catalog.simulator.port = simulatorPort;
  // Fast models, so that a few seconds per stage see enough requests on the 5% arm to judge.
  for (const profile of Object.values(catalog.simulator.profiles)) {
    profile.latencyMs = { median: 15, p99: 60 };
    profile.tokensPerSecond = 0;
  }
  await writeFile(join(workDir, 'catalog.json'), JSON.stringify(catalog));

  const hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const alert = JSON.parse(body) as { type: string; severity: string; message: string };
      log(`ALERT ${alert.severity.toUpperCase()} ${alert.type}: ${alert.message}`);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/alerts`;

  // The demo's own admin key: it calls the operator API and sends the traffic with it.
  const adminKey = generateApiKey().key;
  const authorization = `Bearer ${adminKey}`;
  Object.assign(process.env, {
    SWITCHYARD_ADMIN_KEY: adminKey,
    SWITCHYARD_CATALOG: join(workDir, 'catalog.json'),
    SWITCHYARD_DATA_DIR: join(workDir, 'data'),
    SWITCHYARD_EMBEDDED_PG_PORT: String(await freePort()),
    CANARY_TICK_SECONDS: '0.5',
    METRICS_FLUSH_INTERVAL_MS: '100',
    ALERT_SEND_INTERVAL_MS: '200',
    ALERT_WEBHOOK_URL: hookUrl,
    GATEWAY_MAX_RETRIES: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
  });
  log('starting the gateway (embedded Postgres, simulator)...');
  const app = await createApp();
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const simulator = `http://127.0.0.1:${simulatorPort}`;
  log(`gateway on ${base}; stages of ${STAGE_SECONDS}s, judged every 0.5s`);

  const call = async (method: string, path: string, body?: unknown, url = base) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} -> ${response.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  let trafficOn = true;
  const traffic = (policy: string) =>
    Array.from({ length: 24 }, async () => {
      while (trafficOn) {
        await fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-user-id': randomUUID(), authorization },
          body: JSON.stringify({
            model: `route:${policy}`,
            messages: [{ role: 'user', content: 'Recommend a book.' }],
          }),
        }).then(
          (response) => response.arrayBuffer(),
          () => undefined,
        );
      }
    });

  const stages = [5, 15, 35, 65].map((percentage) => ({ percentage, durationSeconds: STAGE_SECONDS }));
  const plan = {
    variant: 'treatment',
    stages: [...stages, { percentage: 100, durationSeconds: 0 }],
    analysis: { minRequests: 30 },
  };

  const follow = async (id: string, onStage?: (stage: number) => Promise<void>) => {
    let lastVerdictAt = '';
    let lastStage = -1;
    for (;;) {
      const canary = await call('GET', `/api/canaries/${id}`);
      if (canary.stage && canary.stage.index !== lastStage) {
        lastStage = canary.stage.index;
        await onStage?.(lastStage);
      }
      const verdict = canary.lastVerdict;
      if (verdict && verdict.at !== lastVerdictAt) {
        lastVerdictAt = verdict.at;
        log(`${canary.flagKey}: ${verdict.outcome} -> ${verdict.decision}: ${verdict.sentence}`);
      }
      if (!['pending', 'running'].includes(canary.state)) return canary;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  try {
    log('--- 1. a healthy treatment: recommendations-model, deepseek-v3.2 -> gemini-2.5-flash');
    await call('POST', '/api/flags', {
      key: 'recommendations-model',
      variants: { control: 'deepseek-v3.2', treatment: 'gemini-2.5-flash' },
      defaultVariant: 'control',
    });
    const workers = traffic('recommendations');
    const healthy = await call('POST', '/api/canaries', { flagKey: 'recommendations-model', ...plan });
    const first = await follow(healthy.id);
    log(
      `recommendations-model canary ended: ${first.state.toUpperCase()}; flag rollout now ${JSON.stringify((await call('GET', '/api/flags/recommendations-model')).rollout)}`,
    );
    trafficOn = false;
    await Promise.all(workers);

    log('--- 2. a treatment that breaks in stage 2: chat-model, gemini-2.5-flash -> deepseek-v3.2');
    await call('POST', '/api/flags', {
      key: 'chat-model',
      variants: { control: 'gemini-2.5-flash', treatment: 'deepseek-v3.2' },
      defaultVariant: 'control',
    });
    trafficOn = true;
    const chatWorkers = traffic('chat');
    const failing = await call('POST', '/api/canaries', { flagKey: 'chat-model', ...plan });
    const second = await follow(failing.id, async (stage) => {
      if (stage !== 1) return;
      log('simulator: deepseek-v3.2 now fails 40% of calls (the chat policy falls back, the canary counts it)');
      await call('PUT', '/_simulator/profiles/deepseek-v3.2', { errorRate: 0.4 }, simulator);
    });
    log(
      `chat-model canary ended: ${second.state.toUpperCase()}; flag rollout now ${JSON.stringify((await call('GET', '/api/flags/chat-model')).rollout)}`,
    );
    log(`why: ${second.lastVerdict.reasons.join('; ')}`);
    trafficOn = false;
    await Promise.all(chatWorkers);
    // Let the sender deliver the last alerts before shutting down.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    log('history of chat-model (newest first):');
    for (const row of (await call('GET', '/api/flags/chat-model/history?limit=10')).items) {
      log(
        `  v${row.version} ${row.action} by ${row.actor} (${row.source}): ${JSON.stringify(row.after.rollout)} ${row.reason ?? ''}`,
      );
    }
  } finally {
    trafficOn = false;
    await shutDownApp(app);
    hooks.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error('demo failed:', error);
  process.exit(1);
});

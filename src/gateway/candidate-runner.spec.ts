import { Logger } from '@nestjs/common';
import { SimulatedProvider } from '@switchyard/simulator';
import { CatalogService } from '../catalog/catalog.service';
import { Clock } from '../common/clock';
import { loadCatalog } from '../config/catalog.config';
import type { CatalogModel } from '../config/catalog.schema';
import type { GatewayConfig } from '../config/gateway.config';
import { AnswerParser } from '../providers/answer-parser';
import { Cancellation } from '../providers/cancellation';
import { ContextGuard } from '../providers/context-guard';
import { ModelHealth } from '../providers/model-health';
import { ProviderClient } from '../providers/provider-client';
import { ContextLengthExceeded, UpstreamFailed, UpstreamRejectedRequest } from '../providers/provider-errors';
import { ProviderKeyRing } from '../providers/provider-keys';
import type { Route } from '../routing/routing.service';
import { CandidateRunner, type RunResult } from './candidate-runner';
import { RequestTiming } from './request-timing';
import { parseChatRequest } from './chat-request';

const KEYS = { primary: 'sk-runner-primary-0001', backup: 'sk-runner-backup-0002' };
const MODELS = ['alpha', 'beta'];

const config = (retry: Partial<GatewayConfig['retry']> = {}): GatewayConfig => ({
  retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5, budgetRatio: 0.2, budgetMinPerWindow: 20, ...retry },
  breaker: { failureRatio: 0.5, minimumRequests: 10, windowMs: 30_000, coolDownMs: 15_000, consecutiveFailures: 5 },
  contextGuardRatio: 0.9,
  answerLimitBytes: 32 * 1024 * 1024,
});

/**
 * The candidate runner against the real simulated provider over loopback HTTP, through the real
 * ProviderClient (the Upstream the gateway uses): no hand-written fake upstream.
 */
describe('CandidateRunner (real simulator on loopback)', () => {
  let simulator: SimulatedProvider;
  let catalog: CatalogService;
  const clients: ProviderClient[] = [];
  const parser = new AnswerParser();
  const guards: ContextGuard[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(false);
    simulator = new SimulatedProvider({ port: 0, models: MODELS.map((id) => ({ id })), apiKeys: KEYS });
    const port = await simulator.start();
    const raw = {
      providers: [
        {
          id: 'sim',
          baseUrl: `http://127.0.0.1:${port}/v1`,
          apiKeyEnv: 'RUNNER_SIM_KEY',
          backupApiKeyEnv: 'RUNNER_SIM_KEY_BACKUP',
          timeoutMs: 5_000,
        },
      ],
      models: [
        ...MODELS.map((id) => ({ id, provider: 'sim', upstreamModel: id, contextWindow: 100_000, tier: 1 })),
        { id: 'tiny', provider: 'sim', upstreamModel: 'alpha', contextWindow: 5, tier: 1 },
      ].map((model) => ({ ...model, pricing: { inputPer1M: 1, outputPer1M: 2 } })),
      policies: [],
    };
    catalog = new CatalogService(
      loadCatalog(raw, 'runner test', { RUNNER_SIM_KEY: KEYS.primary, RUNNER_SIM_KEY_BACKUP: KEYS.backup }),
    );
  });
  afterEach(() => simulator.reset());
  afterAll(async () => {
    await parser.onModuleDestroy();
    await Promise.all(clients.map((client) => client.onApplicationShutdown()));
    await Promise.all(guards.map((guard) => guard.onModuleDestroy()));
    await simulator.stop();
  });

  async function runnerWith(gateway: GatewayConfig = config()) {
    const health = new ModelHealth(gateway, catalog, new Clock());
    const client = new ProviderClient(catalog, new ProviderKeyRing(catalog), health, parser, gateway);
    clients.push(client);
    const guard = new ContextGuard(gateway);
    guards.push(guard);
    return { runner: new CandidateRunner(client, health, guard), health };
  }

  function route(...ids: string[]): Route {
    const candidates = ids.map((id) => catalog.findModel(id) as CatalogModel);
    return {
      policy: 'test',
      flag: null,
      flagVersion: null,
      variant: null,
      reason: 'no_flag',
      chosen: candidates[0],
      plan: { candidates, totalTimeoutMs: 10_000, attemptTimeoutMs: 5_000, bodyOverrides: {}, forwardMetadata: false },
    };
  }

  const request = (extra: Record<string, unknown> = {}) =>
    parseChatRequest({ model: 'route:test', messages: [{ role: 'user', content: 'hello there' }], ...extra });

  const run = (runner: CandidateRunner, candidates: Route, clientGone = new Cancellation()) =>
    runner.run({
      request: request(),
      route: candidates,
      clientGone,
      requestId: 'test-request',
      timing: new RequestTiming(),
    });

  function expectFailed(result: RunResult) {
    if (result.kind !== 'failed') throw new Error(`expected a failure, got ${result.kind}`);
    return result;
  }

  it('answers with the first candidate', async () => {
    const { runner } = await runnerWith();
    const result = await run(runner, route('alpha', 'beta'));
    expect(result).toMatchObject({ kind: 'answered', attempts: 1, fallback: false, model: { id: 'alpha' } });
    if (result.kind !== 'answered' || result.answer.kind !== 'json') throw new Error('expected a JSON answer');
    expect(result.answer.body?.model).toBe('alpha');
    expect(simulator.getStats().byModel).toEqual({ alpha: 1 });
  });

  it('retries, then falls back to the next candidate when the first keeps failing', async () => {
    const { runner } = await runnerWith();
    simulator.addFaults('alpha', { status: 503, count: 3 });
    const result = await run(runner, route('alpha', 'beta'));
    expect(result).toMatchObject({ kind: 'answered', attempts: 4, fallback: true, model: { id: 'beta' } });
    expect(simulator.getStats().byStatus).toEqual({ '503': 3, '200': 1 });
  });

  it('does not fall back when the provider calls the request invalid, and keeps that out of the breaker', async () => {
    const { runner, health } = await runnerWith();
    simulator.addFaults('alpha', { status: 400, message: `bad request for key ${KEYS.primary}` });
    const failed = expectFailed(await run(runner, route('alpha', 'beta')));
    expect(failed.error).toBeInstanceOf(UpstreamRejectedRequest);
    expect(failed.error).toMatchObject({
      blamesRequest: true,
      relayed: { status: 400, openAiType: 'invalid_request_error', code: null },
    });
    expect(failed.error.message).not.toContain(KEYS.primary);
    expect(failed).toMatchObject({ attempts: 1, model: { id: 'alpha' } });
    expect(simulator.getStats().total).toBe(1);
    expect(health.breaker('alpha').snapshot()).toMatchObject({ state: 'closed', requests: 0, failures: 0 });
  });

  it('skips a candidate the prompt does not fit, and refuses the prompt only when none fits, before calling anyone', async () => {
    const { runner } = await runnerWith();
    const failed = expectFailed(await run(runner, route('tiny', 'tiny')));
    expect(failed.error).toBeInstanceOf(ContextLengthExceeded);
    expect(failed).toMatchObject({ attempts: 0, model: { id: 'tiny' } });
    expect(simulator.getStats().total).toBe(0);
    const skipped = await run(runner, route('tiny', 'alpha'));
    expect(skipped).toMatchObject({ kind: 'answered', model: { id: 'alpha' }, fallback: true, attempts: 1 });
    expect(simulator.getStats().byModel).toEqual({ alpha: 1 });
  });

  it('stops without an answer when the client has gone, counting the call it cut short', async () => {
    const { runner } = await runnerWith();
    simulator.updateProfile('alpha', { latencyMs: { median: 5_000, p99: 5_000 } });
    const clientGone = new Cancellation();
    const pending = run(runner, route('alpha', 'beta'), clientGone);
    while (simulator.getStats().total === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    clientGone.cancel();
    expect(await pending).toMatchObject({ kind: 'client_gone', model: { id: 'alpha' }, attempts: 1 });
    expect(simulator.getStats().byModel).toEqual({ alpha: 1 });
  });

  it('makes no call beyond the first, retry or fallback, once the extra-call budget is spent', async () => {
    const { runner } = await runnerWith(config({ budgetRatio: 0, budgetMinPerWindow: 0 }));
    simulator.addFaults('alpha', { status: 500, count: 10 });
    const failed = expectFailed(await run(runner, route('alpha', 'beta')));
    expect(failed.error).toBeInstanceOf(UpstreamFailed);
    expect(failed).toMatchObject({ attempts: 1, model: { id: 'alpha' } });
    expect(simulator.getStats().byModel).toEqual({ alpha: 1 });
  });
});

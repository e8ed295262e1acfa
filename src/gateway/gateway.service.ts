import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { formatRetryAfterSeconds } from '@switchyard/retry';
import { AccessDeniedException } from '../access/access-denied.exception';
import { AccessService, attachCaller } from '../access/access.service';
import type { CachedApiKey } from '../access/api-key-cache';
import type { AuthenticatedCaller } from '../access/scopes';
import { UsageLimiter } from '../access/usage-limiter';
import { Clock } from '../common/clock';
import { OpenAiError, writeOpenAiError } from '../common/openai-error';
import { requestIdOf } from '../common/request-id';
import { gatewayConfig, type GatewayConfig } from '../config/gateway.config';
import type { CatalogModel } from '../config/catalog.schema';
import { costUsd, type TokenUsage } from '../metrics/cost';
import type { Outcome } from '../metrics/entities/request-metric.entity';
import { MetricsRecorder } from '../metrics/metrics-recorder';
import type { RequestMetric } from '../metrics/request-metric';
import { Cancellation } from '../providers/cancellation';
import { assertFitsContext } from '../providers/context-guard';
import {
  ClientAbortedError,
  ProviderClient,
  type UpstreamAnswer,
  type UpstreamStreamAnswer,
} from '../providers/provider-client';
import { UpstreamFailure } from '../providers/upstream-failure';
import { type Route, RoutingService } from '../routing/routing.service';

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
};
const DONE_EVENT = 'data: [DONE]\n\n';

interface ValidBody {
  body: Record<string, unknown>;
  messages: Array<Record<string, unknown>>;
  stream: boolean;
  /** Whether the client asked for the usage chunk; the gateway always asks the upstream for it. */
  clientWantsUsage: boolean;
  attributes: Record<string, string>;
  user?: string;
}

/** What is known about a request as it goes; becomes its request_metrics row when it ends. */
interface RequestRecord {
  route?: Route;
  /** The model answering, or the last one tried. */
  model?: CatalogModel;
  stream: boolean;
  attempts: number;
  fallback: boolean;
  /** Set where the cause is known (upstream failure, abort, broken stream); otherwise derived from the status. */
  outcome?: Outcome;
  httpStatus?: number;
  errorType?: string | null;
  upstreamLatencyMs: number | null;
  ttftMs: number | null;
  usage?: TokenUsage;
  /** The key, once known (also a revoked one, or one refused for its scope, policy or limit). */
  apiKeyId: string | null;
  /** The user id the flag was evaluated for (canaries cluster by it; only its hash is stored). */
  userId?: string;
}

/** nginx's "client closed request": no status reached the client. */
const CLIENT_CLOSED_STATUS = 499;

/**
 * The path every team's traffic takes: validate, route (policy + flag + health), guard the context,
 * call the candidates in order through the provider client, and answer in OpenAI's wire format with
 * the x-switchyard-* headers — JSON, or SSE passed through event by event.
 */
@Injectable()
export class GatewayService {
  private readonly logger = new Logger(GatewayService.name);

  constructor(
    private readonly routing: RoutingService,
    private readonly provider: ProviderClient,
    private readonly metrics: MetricsRecorder,
    private readonly access: AccessService,
    private readonly limiter: UsageLimiter,
    @Inject(gatewayConfig.KEY) private readonly config: GatewayConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * Serves one request end to end and records exactly one metric row for it, whatever happens. The
   * key is checked (in memory) and the key's limits applied before the body is read; the body is
   * read inside, so a refused key, a body that is too large or not JSON are all counted as well.
   */
  async handle(req: IncomingMessage, res: ServerResponse, readBody: () => Promise<unknown>): Promise<void> {
    // The row's time decides which canary and guardrail window it falls in: the same clock as theirs.
    const at = this.clock.now();
    const started = performance.now();
    const record: RequestRecord = {
      stream: false,
      attempts: 0,
      fallback: false,
      upstreamLatencyMs: null,
      ttftMs: null,
      apiKeyId: null,
    };
    let key: CachedApiKey | undefined;
    try {
      key = this.admit(req, res, record);
      await this.complete(req, res, await readBody(), record, started, key.caller);
    } catch (error) {
      this.answerError(req, res, error, record);
    } finally {
      if (this.metrics.enabled) this.metrics.record(this.metricOf(req, res, record, at, performance.now() - started));
      if (key && record.usage) this.limiter.addTokens(key, record.usage.promptTokens + record.usage.completionTokens);
    }
  }

  /** The key must grant `gateway` and be within its limits; the x-ratelimit-* headers go on every answer. */
  private admit(req: IncomingMessage, res: ServerResponse, record: RequestRecord): CachedApiKey {
    const key = this.access.authenticate(req.headers.authorization, 'gateway', 'call /v1/chat/completions');
    record.apiKeyId = key.caller.id;
    attachCaller(req, key.caller);
    try {
      const admission = this.limiter.admit(key);
      if (admission) for (const [name, value] of Object.entries(admission.headers)) res.setHeader(name, value);
    } catch (error) {
      record.outcome = 'rate_limited';
      throw error;
    }
    return key;
  }

  private async complete(
    req: IncomingMessage,
    res: ServerResponse,
    rawBody: unknown,
    record: RequestRecord,
    started: number,
    caller: AuthenticatedCaller,
  ): Promise<void> {
    const request = validate(rawBody);
    record.stream = request.stream;
    record.userId = headerOf(req, 'x-user-id') ?? request.user;
    const route = this.routing.resolve({
      model: request.body.model,
      policyHeader: headerOf(req, 'x-switchyard-policy'),
      userId: record.userId,
      attributes: request.attributes,
      body: request.body,
    });
    record.route = route;
    assertPolicyAllowed(caller, route);
    setRouteHeaders(res, route);

    const clientGone = new Cancellation();
    res.on('close', () => {
      if (!res.writableFinished) clientGone.cancel();
    });

    const deadlineAt = Date.now() + route.plan.totalTimeoutMs;
    const upstreamBody = this.upstreamBody(request, route);
    let lastFailure: UpstreamFailure | undefined;
    for (const model of route.plan.candidates) {
      record.model = model;
      record.fallback = model.id !== route.chosen.id;
      await assertFitsContext(model, request.messages, this.config.contextGuardRatio);
      try {
        const answer = await this.provider.call({
          model,
          body: upstreamBody,
          stream: request.stream,
          attemptTimeoutMs: route.plan.attemptTimeoutMs,
          firstChunkTimeoutMs: route.plan.firstChunkTimeoutMs,
          maxRetries: route.plan.maxRetriesPerModel,
          deadlineAt,
          clientGone,
        });
        record.attempts += answer.attempts;
        record.upstreamLatencyMs = answer.upstreamLatencyMs;
        setAnswerHeaders(res, model, record.attempts, record.fallback);
        await this.answer(res, answer, request.clientWantsUsage, record, started);
        return;
      } catch (error) {
        if (error instanceof ClientAbortedError) {
          record.outcome = 'client_aborted';
          return;
        }
        if (!(error instanceof UpstreamFailure)) throw error;
        record.attempts += error.details.attempts;
        lastFailure = error;
        this.logger.warn(`${model.id} failed (${error.kind}): ${error.message}`);
        // A request the upstream calls invalid is invalid on every model: say so instead of falling back.
        if (error.kind === 'client_error') break;
      }
    }
    res.setHeader('x-switchyard-attempts', String(record.attempts));
    record.outcome =
      lastFailure?.kind === 'rate_limited'
        ? 'rate_limited'
        : lastFailure?.kind === 'timeout'
          ? 'timeout'
          : 'upstream_error';
    throw toClientError(lastFailure);
  }

  private answerError(req: IncomingMessage, res: ServerResponse, error: unknown, record: RequestRecord): void {
    if (error instanceof AccessDeniedException) {
      record.apiKeyId ??= error.apiKeyId;
      error = OpenAiError.from(error);
    }
    if (res.headersSent) {
      this.logger.error({ err: error, requestId: requestIdOf(req) }, 'error after the response started');
      record.outcome ??= 'upstream_error';
      record.errorType ??= 'internal_error';
      res.destroy();
      return;
    }
    if (error instanceof OpenAiError) {
      writeOpenAiError(res, error);
      record.httpStatus = error.getStatus();
      record.errorType = error.fields.code ?? error.fields.type;
      // What the gateway itself refuses (bad body, unknown model, context guard) is the caller's to fix.
      record.outcome ??= record.httpStatus < 500 ? 'rejected' : 'upstream_error';
      return;
    }
    const requestId = requestIdOf(req);
    this.logger.error({ err: error, requestId }, 'unhandled error on /v1/chat/completions');
    writeOpenAiError(
      res,
      new OpenAiError(500, {
        message: `Internal error; quote request id ${requestId} when reporting it.`,
        type: 'api_error',
        code: null,
        param: null,
      }),
    );
    record.httpStatus = 500;
    record.errorType = 'internal_error';
    record.outcome ??= 'upstream_error';
  }

  private metricOf(
    req: IncomingMessage,
    res: ServerResponse,
    record: RequestRecord,
    at: Date,
    latencyMs: number,
  ): RequestMetric {
    const { route, model, usage } = record;
    let outcome: Outcome = record.outcome ?? 'ok';
    // The client left before the whole answer was written: it never got what was paid for.
    if (outcome === 'ok' && !res.writableFinished) outcome = 'client_aborted';
    return {
      id: randomUUID(),
      at,
      requestId: requestIdOf(req),
      policy: route?.policy ?? null,
      flag: route?.flag ?? null,
      variant: route?.variant ?? null,
      provider: model?.provider ?? null,
      model: model?.id ?? null,
      firstModel: route?.chosen.id ?? null,
      outcome,
      httpStatus: outcome === 'client_aborted' ? CLIENT_CLOSED_STATUS : (record.httpStatus ?? res.statusCode),
      errorType: record.errorType ?? null,
      latencyMs,
      upstreamLatencyMs: record.upstreamLatencyMs,
      ttftMs: record.ttftMs,
      promptTokens: usage?.promptTokens ?? null,
      completionTokens: usage?.completionTokens ?? null,
      costUsd: usage && model ? costUsd(model.pricing, usage) : null,
      attempts: record.attempts,
      fallback: record.fallback && outcome === 'ok',
      stream: record.stream,
      apiKeyId: record.apiKeyId,
      userId: record.userId ?? null,
    };
  }

  private upstreamBody(request: ValidBody, route: Route): Record<string, unknown> {
    const body: Record<string, unknown> = { ...request.body, ...route.plan.bodyOverrides };
    if (!route.plan.forwardMetadata) delete body.metadata;
    // Exact token counts for streams come only from the final usage chunk, so always ask for it.
    if (request.stream) body.stream_options = { ...(body.stream_options as object | undefined), include_usage: true };
    return body;
  }

  private async answer(
    res: ServerResponse,
    answer: UpstreamAnswer,
    clientWantsUsage: boolean,
    record: RequestRecord,
    started: number,
  ): Promise<void> {
    if (answer.kind === 'json') {
      record.usage = usageOf(answer.body.usage);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': answer.raw.length });
      res.end(answer.raw);
      return;
    }
    await this.pipeStream(res, answer, clientWantsUsage, record, started);
  }

  /**
   * Passes the upstream's events through one by one. After the first event has gone out the status is
   * sent, so an upstream failure ends the stream with an error event and [DONE] — never a silent cut.
   */
  private async pipeStream(
    res: ServerResponse,
    stream: UpstreamStreamAnswer,
    clientWantsUsage: boolean,
    record: RequestRecord,
    started: number,
  ): Promise<void> {
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    const forward = (event: string) => {
      if (USAGE_FIELD.test(event)) record.usage = usageOf(parseEventData(event)?.usage) ?? record.usage;
      if (!clientWantsUsage && isUsageOnlyEvent(event)) return;
      res.write(`${event}\n\n`);
    };
    record.ttftMs = performance.now() - started;
    let sawDone = false;
    try {
      forward(stream.firstEvent);
      for await (const event of stream.rest) {
        if (res.destroyed) break;
        if (isDoneEvent(event)) {
          sawDone = true;
          continue;
        }
        forward(event);
      }
      if (!sawDone && !res.destroyed) {
        throw new Error('upstream ended the stream without [DONE]');
      }
    } catch (error) {
      if (res.destroyed) return;
      this.logger.warn(`stream broke after the first chunk: ${(error as Error).message}`);
      record.outcome = 'upstream_error';
      record.errorType = 'upstream_stream_error';
      const failure = {
        error: {
          message: 'The upstream stream broke off before the completion finished.',
          type: 'api_error',
          code: 'upstream_stream_error',
          param: null,
        },
      };
      res.write(`data: ${JSON.stringify(failure)}\n\n`);
    } finally {
      await stream.rest.return(undefined);
    }
    if (!res.destroyed) res.end(DONE_EVENT);
  }
}

/** A key limited to some policies may use only those; a concrete model bypasses policies, so it is refused too. */
function assertPolicyAllowed(caller: AuthenticatedCaller, route: Route): void {
  const allowed = caller.policies;
  if (!allowed || (route.policy !== null && allowed.includes(route.policy))) return;
  const use = `use one of ${allowed.map((name) => `route:${name}`).join(', ')} (or header x-switchyard-policy)`;
  const message =
    route.policy === null
      ? `The API key ${caller.prefix} may only use the policies ${allowed.join(', ')}, not a concrete model: ${use}.`
      : `The API key ${caller.prefix} may not use the policy ${route.policy}: ${use}, or ask a Switchyard admin for a key that allows it.`;
  throw new OpenAiError(403, {
    message,
    type: 'permission_error',
    code: 'policy_not_allowed',
    param: route.policy === null ? 'model' : null,
  });
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function setRouteHeaders(res: ServerResponse, route: Route): void {
  res.setHeader('x-switchyard-policy', route.policy ?? 'none');
  res.setHeader('x-switchyard-flag', route.flag ?? 'none');
  res.setHeader('x-switchyard-variant', route.variant ?? 'none');
  res.setHeader('x-switchyard-model', route.plan.candidates[0].id);
  res.setHeader('x-switchyard-provider', route.plan.candidates[0].provider);
  res.setHeader('x-switchyard-attempts', '0');
  res.setHeader('x-switchyard-fallback', 'false');
}

function setAnswerHeaders(res: ServerResponse, model: CatalogModel, attempts: number, fallback: boolean): void {
  res.setHeader('x-switchyard-model', model.id);
  res.setHeader('x-switchyard-provider', model.provider);
  res.setHeader('x-switchyard-attempts', String(attempts));
  res.setHeader('x-switchyard-fallback', String(fallback));
}

/** A usage object (not `"usage": null`, which some providers put on every chunk). */
const USAGE_FIELD = /"usage"\s*:\s*\{/;

function parseEventData(event: string): Record<string, unknown> | undefined {
  const data = event
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trimStart())
    .join('\n');
  try {
    return JSON.parse(data) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** OpenAI's `usage` object, when it holds both counts. */
function usageOf(usage: unknown): TokenUsage | undefined {
  const { prompt_tokens: prompt, completion_tokens: completion } = (usage ?? {}) as Record<string, unknown>;
  if (!Number.isInteger(prompt) || !Number.isInteger(completion)) return undefined;
  return { promptTokens: prompt as number, completionTokens: completion as number };
}

function isDoneEvent(event: string): boolean {
  return /^data:\s*\[DONE\]\s*$/m.test(event);
}

/** The usage chunk OpenAI sends when asked: `choices` empty, `usage` set. */
function isUsageOnlyEvent(event: string): boolean {
  return event.includes('"usage"') && /"choices"\s*:\s*\[\s*\]/.test(event);
}

/** Checks what the gateway needs; every other OpenAI field is passed through untouched. */
function validate(raw: unknown): ValidBody {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw OpenAiError.invalidRequest('The request body must be a JSON object (an OpenAI chat completion request).');
  }
  const body = raw as Record<string, unknown>;
  if (typeof body.model !== 'string' || body.model === '') {
    throw OpenAiError.invalidRequest('`model` is required: a catalog model id or route:<policy>.', 'model');
  }
  const messages = body.messages;
  if (
    !Array.isArray(messages) ||
    messages.length === 0 ||
    !messages.every((m) => typeof m === 'object' && m !== null && typeof m.role === 'string')
  ) {
    throw OpenAiError.invalidRequest('`messages` must be a non-empty list of { role, content } objects.', 'messages');
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    throw OpenAiError.invalidRequest('`stream` must be true or false.', 'stream');
  }
  const metadata = body.metadata;
  if (
    metadata !== undefined &&
    (typeof metadata !== 'object' || metadata === null || !Object.values(metadata).every((v) => typeof v === 'string'))
  ) {
    throw OpenAiError.invalidRequest('`metadata` must be a map of strings to strings.', 'metadata');
  }
  if (body.user !== undefined && typeof body.user !== 'string') {
    throw OpenAiError.invalidRequest('`user` must be a string.', 'user');
  }
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
  return {
    body,
    messages: messages as Array<Record<string, unknown>>,
    stream: body.stream === true,
    clientWantsUsage: streamOptions?.include_usage === true,
    attributes: (metadata ?? {}) as Record<string, string>,
    user: body.user as string | undefined,
  };
}

/** After every candidate failed: the client sees what the last failure means for it. */
function toClientError(failure: UpstreamFailure | undefined): OpenAiError {
  if (!failure)
    return new OpenAiError(502, {
      message: 'No model answered.',
      type: 'api_error',
      code: 'upstream_error',
      param: null,
    });
  const { kind, details } = failure;
  switch (kind) {
    case 'rate_limited':
      return new OpenAiError(
        429,
        {
          message:
            'The provider is rate limiting this model and retries did not get through; retry after the indicated time.',
          type: 'rate_limit_error',
          code: 'rate_limit_exceeded',
          param: null,
        },
        { 'retry-after': formatRetryAfterSeconds(details.retryAfterMs ?? 1000) },
      );
    case 'timeout':
      return new OpenAiError(504, {
        message: `The provider did not answer in time: ${failure.message}.`,
        type: 'api_error',
        code: 'upstream_timeout',
        param: null,
      });
    case 'client_error':
      return new OpenAiError(details.status ?? 400, {
        message: details.upstreamError?.message ?? `The provider rejected the request (${details.status}).`,
        type: details.upstreamError?.type ?? 'invalid_request_error',
        code: details.upstreamError?.code ?? null,
        param: details.upstreamError?.param ?? null,
      });
    case 'unauthorized':
      return new OpenAiError(502, {
        message: "The provider refused the gateway's credentials; operators have been told by the logs.",
        type: 'api_error',
        code: 'upstream_auth_failed',
        param: null,
      });
    default:
      return new OpenAiError(502, {
        message: `The provider failed after retries and fallbacks: ${failure.message}.`,
        type: 'api_error',
        code: 'upstream_error',
        param: null,
      });
  }
}

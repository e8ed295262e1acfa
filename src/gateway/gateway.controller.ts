import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { KeyLimitReached, ScopeNotGranted } from '../access/access-denied.exception';
import { AuthenticatedInHandler, RequireScope } from '../access/access.decorators';
import { BudgetExhausted, BudgetUnavailable } from '../budgets/budget.errors';
import { Caller } from '../access/caller.decorator';
import type { AuthenticatedCaller } from '../access/scopes';
import { ApiBodyExamples, ApiOpenAiError } from '../common/api-error-responses';
import {
  InvalidJson,
  RequestTooLarge,
  UndecodableBody,
  UnsupportedContentEncoding,
  UnsupportedContentType,
} from '../common/request-errors';
import { CatalogService } from '../catalog/catalog.service';
import { ModelNotAvailable, UnknownModel } from '../routing/routing.errors';
import { POLICY_ALIAS_PREFIX, RoutingService } from '../routing/routing.service';
import {
  ChatCompletionRequestDto,
  ChatCompletionResponseDto,
  ModelEntryDto,
  ModelListDto,
} from './dto/chat-completion.dto';
import { CONTENT_ENCODINGS } from './request-body';

const EXAMPLE_KEY = { id: '0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b', prefix: 'sy_k3j5n2m8q1' };
const EXAMPLE_BUDGET = '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
const BOOKS = [{ role: 'user', content: 'Suggest three books for a train journey' }];

const ROUTE_HEADERS = ['request-id', 'policy', 'flag', 'variant', 'model', 'provider', 'attempts', 'fallback']
  .map((name) => `x-switchyard-${name}`)
  .join(', ');

@ApiTags('gateway')
@RequireScope('gateway')
@Controller('v1')
export class GatewayController {
  constructor(
    private readonly catalog: CatalogService,
    private readonly routing: RoutingService,
  ) {}

  @Post('chat/completions')
  @AuthenticatedInHandler('gateway')
  @HttpCode(200)
  @ApiOperation({
    summary: 'OpenAI Chat Completions through a policy, a flag or a concrete model',
    description:
      `Point any OpenAI client's base URL at /v1. Every response carries ${ROUTE_HEADERS}; ` +
      'a request a spend budget downgraded or sent to the control also x-switchyard-budget and x-switchyard-budget-action.',
  })
  @ApiHeader({ name: 'x-switchyard-policy', required: false, description: 'Policy to route by (wins over model)' })
  @ApiHeader({ name: 'x-user-id', required: false, description: 'User for sticky bucketing (else the body user)' })
  @ApiBodyExamples(ChatCompletionRequestDto, {
    json: {
      summary: 'A policy chooses the model; the answer is one JSON document',
      value: {
        model: 'route:recommendations',
        messages: BOOKS,
        user: 'user-4821',
        metadata: { country: 'SG', tier: 'enterprise' },
        temperature: 0.7,
        max_tokens: 256,
      },
    },
    stream: {
      summary: 'Server-sent events, with token usage in the last chunk',
      value: { model: 'route:chat', messages: BOOKS, stream: true, stream_options: { include_usage: true } },
    },
  })
  @ApiOkResponse({ type: ChatCompletionResponseDto, description: 'JSON, or text/event-stream when stream is true' })
  @ApiOpenAiError(
    'Invalid request, or context_length_exceeded',
    {
      status: 400,
      message: '`messages` must be a non-empty list of { role, content } objects.',
      param: 'messages',
    },
    {
      status: 400,
      code: 'context_length_exceeded',
      message:
        "This request's prompt is about 1200000 tokens; model gpt-4.1 accepts up to 942818 (90% of its 1047576-token context window). Shorten the messages or choose a model with a larger window.",
      param: 'messages',
    },
    new InvalidJson(),
    new UndecodableBody('gzip'),
  )
  @ApiOpenAiError(
    'Unknown model or policy',
    {
      status: 404,
      code: 'model_not_found',
      message:
        'The model `gpt-9` does not exist. Use a catalog model id or route:<policy> (GET /v1/models lists both).',
      param: 'model',
    },
    {
      status: 404,
      code: 'policy_not_found',
      message: 'The policy `poetry` does not exist. Known policies: recommendations, chat, fraud.',
      param: 'model',
    },
  )
  @ApiOpenAiError(
    'The body is larger than REQUEST_BODY_LIMIT (a compressed one once decompressed)',
    new RequestTooLarge('4mb'),
  )
  @ApiOpenAiError(
    'The body is not declared Content-Type: application/json (in UTF-8), or is compressed in a Content-Encoding other than ' +
      CONTENT_ENCODINGS.join(', '),
    new UnsupportedContentType('text/plain'),
    new UnsupportedContentEncoding('zstd', CONTENT_ENCODINGS),
  )
  @ApiOpenAiError(
    'The key lacks the gateway scope, or is limited to other policies (policy_not_allowed)',
    new ScopeNotGranted({ ...EXAMPLE_KEY, scopes: ['read'] }, 'gateway', 'POST /v1/chat/completions'),
    {
      status: 403,
      code: 'policy_not_allowed',
      message: `The API key ${EXAMPLE_KEY.prefix} may not use the policy fraud: use one of route:chat (or header x-switchyard-policy), or ask a Switchyard admin for a key that allows it.`,
    },
  )
  @ApiOpenAiError(
    "Over the key's requests or tokens per minute, upstream rate limits outlasted the retries, or a spend budget is used up (insufficient_quota); see Retry-After. Keys with limits get x-ratelimit-* headers on every answer",
    new KeyLimitReached(EXAMPLE_KEY, { requestsPerMinute: 600 }, { retryAfterSeconds: 12, headers: {} }),
    new BudgetExhausted(
      EXAMPLE_BUDGET,
      `Spend key budget "team-search" (day, $0.05; id ${EXAMPLE_BUDGET}) is used up: this request may cost up to $0.000174 ` +
        'and $0.000082 is left of the limit after what is spent and reserved. It resets at 2026-11-25T00:00:00.000Z (the next day in UTC).',
      41_400,
    ),
    {
      status: 429,
      code: 'rate_limit_exceeded',
      message:
        'The provider is rate limiting this model and retries did not get through; retry after the indicated time.',
    },
  )
  @ApiOpenAiError(
    'Upstream error after retries and fallbacks, or no healthy model (Retry-After: when the first circuit lets a probe through)',
    {
      status: 502,
      code: 'upstream_error',
      message:
        "The provider failed: upstream answered 503; no retry or fallback the gateway's budgets allowed answered (x-switchyard-attempts counts the calls).",
    },
    {
      status: 502,
      code: 'no_healthy_model',
      message: 'No healthy model can serve this request: deepseek-v3.2, gpt-4.1 are failing (circuit open).',
    },
  )
  @ApiOpenAiError(
    "A spend budget cannot be checked: this replica's lease expired while the database does not answer",
    new BudgetUnavailable(
      EXAMPLE_BUDGET,
      `policy budget "chat" (month in Europe/Paris, $250.00; id ${EXAMPLE_BUDGET})`,
    ),
  )
  @ApiOpenAiError('Upstream timeout', {
    status: 504,
    code: 'upstream_timeout',
    message: 'The provider did not answer in time: no answer within 30000 ms.',
  })
  createChatCompletion(): never {
    // Documentation only: CompletionEntrance answers every spelling of this URL before Express routes it.
    throw new Error('POST /v1/chat/completions reached Express; CompletionEntrance should have served it');
  }

  @Get('models')
  @ApiOperation({
    summary: 'The catalog models and the route:<policy> aliases',
    description:
      'A key limited to some policies sees only their aliases: concrete models and other policies would be refused for it.',
  })
  @ApiOkResponse({ type: ModelListDto })
  listModels(@Caller() caller: AuthenticatedCaller): ModelListDto {
    return { object: 'list', data: this.modelsFor(caller) };
  }

  @Get('models/:model')
  @ApiOperation({
    summary: 'One entry of the model list: a catalog model or a route:<policy> alias',
    description: "OpenAI's models.retrieve. A key limited to some policies finds only their aliases, as in the list.",
  })
  @ApiParam({ name: 'model', example: 'route:chat' })
  @ApiOkResponse({ type: ModelEntryDto })
  @ApiOpenAiError(
    'Unknown model or policy alias, or one this key may not use',
    new UnknownModel('gpt-9'),
    new ModelNotAvailable('gpt-4.1', ['route:chat']),
  )
  retrieveModel(@Caller() caller: AuthenticatedCaller, @Param('model') id: string): ModelEntryDto {
    const visible = this.modelsFor(caller);
    const entry = visible.find((model) => model.id === id);
    if (entry) return entry;
    const exists =
      this.catalog.findModel(id) !== undefined ||
      this.routing.policyNames().some((name) => id === `${POLICY_ALIAS_PREFIX}${name}`);
    if (exists)
      throw new ModelNotAvailable(
        id,
        visible.map((model) => model.id),
      );
    throw new UnknownModel(id);
  }

  /** What /v1/models shows `caller`: a key limited to policies sees only their aliases. */
  private modelsFor(caller: AuthenticatedCaller): ModelEntryDto[] {
    const allowed = caller.policies;
    const models = allowed
      ? []
      : this.catalog
          .listModels()
          .map((model) => ({ id: model.id, object: 'model', created: 0, owned_by: model.provider }));
    const policies = this.routing.policyNames().filter((name) => !allowed || allowed.includes(name));
    const aliases = policies.map((name) => ({
      id: `${POLICY_ALIAS_PREFIX}${name}`,
      object: 'model',
      created: 0,
      owned_by: 'switchyard',
    }));
    return [...models, ...aliases];
  }
}

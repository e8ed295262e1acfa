import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AuthenticatedInHandler, RequireScope } from '../access/access.decorators';
import { Caller } from '../access/caller.decorator';
import type { AuthenticatedCaller } from '../access/scopes';
import { OpenAiErrorDto } from '../common/api-error.dto';
import { CatalogService } from '../catalog/catalog.service';
import { POLICY_ALIAS_PREFIX, RoutingService } from '../routing/routing.service';
import { ChatCompletionRequestDto, ChatCompletionResponseDto, ModelListDto } from './dto/chat-completion.dto';

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
    description: `Point any OpenAI client's base URL at /v1. Every response carries ${ROUTE_HEADERS}.`,
  })
  @ApiHeader({ name: 'x-switchyard-policy', required: false, description: 'Policy to route by (wins over model)' })
  @ApiHeader({ name: 'x-user-id', required: false, description: 'User for sticky bucketing (else the body user)' })
  @ApiBody({ type: ChatCompletionRequestDto })
  @ApiOkResponse({ type: ChatCompletionResponseDto, description: 'JSON, or text/event-stream when stream is true' })
  @ApiBadRequestResponse({ type: OpenAiErrorDto, description: 'Invalid request, or context_length_exceeded' })
  @ApiNotFoundResponse({ type: OpenAiErrorDto, description: 'Unknown model or policy' })
  @ApiForbiddenResponse({
    type: OpenAiErrorDto,
    description: 'The key lacks the gateway scope, or is limited to other policies (policy_not_allowed)',
  })
  @ApiResponse({
    status: 429,
    type: OpenAiErrorDto,
    description:
      "Over the key's requests or tokens per minute, or upstream rate limits outlasted the retries; see Retry-After. Keys with limits get x-ratelimit-* headers on every answer",
  })
  @ApiResponse({
    status: 502,
    type: OpenAiErrorDto,
    description: 'Upstream error after retries and fallbacks, or no healthy model',
  })
  @ApiResponse({ status: 504, type: OpenAiErrorDto, description: 'Upstream timeout' })
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
    return { object: 'list', data: [...models, ...aliases] };
  }
}

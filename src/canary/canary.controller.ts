import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { ScopeByMethod } from '../access/access.decorators';
import { Caller } from '../access/caller.decorator';
import type { AuthenticatedCaller } from '../access/scopes';
import { ApiErrorDto } from '../common/api-error.dto';
import { type CanaryAction, CANARY_ACTIONS } from './canary-actions';
import { UnknownCanaryAction } from './canary.errors';
import { CanaryService } from './canary.service';
import { CanaryActionDto, CanaryEventsQueryDto, CreateCanaryDto, ListCanariesQueryDto } from './dto/canary-input.dto';
import { CanaryDto, CanaryEventPageDto } from './dto/canary.dto';

const DEFAULT_EVENTS_LIMIT = 100;

const ACTION_SUMMARIES: Record<CanaryAction, string> = {
  start: 'Start a pending canary: stage 1 weight on the flag',
  pause: 'Pause a running canary: weights stay, no verdicts until resumed',
  resume: 'Resume a paused canary: the current stage gets a fresh window',
  promote: 'Promote now: treatment to 100%, canary ends',
  abort: 'Abort: treatment weight to 0, canary ends',
  rollback: 'Roll back by hand: treatment weight to 0, canary ends as rolled_back',
};

@ApiTags('canaries')
@ScopeByMethod()
@Controller('api/canaries')
export class CanaryController {
  constructor(private readonly canaries: CanaryService) {}

  @Post()
  @ApiOperation({ summary: 'Create a canary for a flag variant (started at once unless start is false)' })
  @ApiCreatedResponse({ type: CanaryDto })
  @ApiBadRequestResponse({
    type: ApiErrorDto,
    description: 'Unknown flag or variant, stages not rising, bad analysis field (each named)',
  })
  @ApiConflictResponse({ type: ApiErrorDto, description: 'The flag already has an active canary' })
  create(@Body() dto: CreateCanaryDto, @Caller() caller: AuthenticatedCaller): Promise<CanaryDto> {
    return this.canaries.create(dto, caller.actor);
  }

  @Get()
  @ApiOperation({ summary: 'Canaries, newest first' })
  @ApiOkResponse({ type: [CanaryDto] })
  @ApiBadRequestResponse({ type: ApiErrorDto })
  list(@Query() query: ListCanariesQueryDto): Promise<CanaryDto[]> {
    return this.canaries.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One canary: state, stage and time in it, last verdict with its numbers' })
  @ApiOkResponse({ type: CanaryDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  get(@Param('id') id: string): Promise<CanaryDto> {
    return this.canaries.get(id);
  }

  @Get(':id/events')
  @ApiOperation({ summary: 'Every transition and every verdict with its evidence, oldest first, paged with `after`' })
  @ApiOkResponse({ type: CanaryEventPageDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  events(@Param('id') id: string, @Query() query: CanaryEventsQueryDto): Promise<CanaryEventPageDto> {
    return this.canaries.events(id, query.limit ?? DEFAULT_EVENTS_LIMIT, query.after);
  }

  @Post(':id/:action')
  @HttpCode(200)
  @ApiOperation({
    summary: `Manual action: ${Object.entries(ACTION_SUMMARIES)
      .map(([action, summary]) => `${action} (${summary})`)
      .join('; ')}`,
  })
  @ApiParam({ name: 'action', enum: Object.keys(ACTION_SUMMARIES) })
  @ApiOkResponse({ type: CanaryDto })
  @ApiBadRequestResponse({ type: ApiErrorDto, description: 'Unknown action' })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  @ApiConflictResponse({
    type: ApiErrorDto,
    description: 'The action does not apply in the current state (named in the message)',
  })
  act(
    @Param('id') id: string,
    @Param('action') action: string,
    @Caller() caller: AuthenticatedCaller,
    @Body() dto: CanaryActionDto = {},
  ): Promise<CanaryDto> {
    return this.canaries.act(id, parseAction(action), caller.actor, dto?.reason);
  }
}

function parseAction(action: string): CanaryAction {
  if ((CANARY_ACTIONS as readonly string[]).includes(action)) return action as CanaryAction;
  throw new UnknownCanaryAction(action, CANARY_ACTIONS);
}

import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequireScope, ScopeByMethod } from '../access/access.decorators';
import { Caller } from '../access/caller.decorator';
import type { AuthenticatedCaller } from '../access/scopes';
import {
  ApiBodyExamples,
  ApiDatabaseUnavailable,
  ApiInvalidBody,
  ApiOperatorError,
} from '../common/api-error-responses';
import { blankReason } from '../common/text-fields';
import { InvalidInput } from '../common/request-errors';
import { UuidParam } from '../common/uuid-param';
import { FlagUnused } from '../flags/flag.errors';
import { type CanaryAction } from './canary-actions';
import { statesOf } from './canary.types';
import { CanaryBudgetExhausted, CanaryFlagArchived, UnknownCanaryAction, UnknownCanaryCursor } from './canary.errors';
import { CanaryPreviewService } from './canary-preview.service';
import { CanaryService } from './canary.service';
import { CanaryActionDto, CreateCanaryDto } from './dto/canary-input.dto';
import {
  CanaryEventsQueryDto,
  DEFAULT_CANARY_PAGE,
  ListCanariesQueryDto,
  ShadowPairsQueryDto,
} from './dto/canary-query.dto';
import { CanaryDto, CanaryEventPageDto, CanaryPageDto, CanaryPreviewDto, ShadowPairDto } from './dto/canary.dto';

const DEFAULT_EVENTS_LIMIT = 100;
const DEFAULT_SHADOW_PAIRS_LIMIT = 50;

const EXAMPLE_ID = '7c1d2e3f-0000-4000-8000-000000000001';
const EXAMPLE_BUDGET_ID = '5b2e9a41-0000-4000-8000-000000000002';
const CanaryId = () => UuidParam('id', 'a canary id');
const ApiCanaryId = () => ApiParam({ name: 'id', format: 'uuid', description: 'The `id` the create answered' });
const badId = new InvalidInput(['id must be a canary id (a UUID)'], 'id');
const ApiCanaryNotFound = () =>
  ApiOperatorError('No canary has this id', { status: 404, message: `canary "${EXAMPLE_ID}" does not exist` });

/** Succeeds as is after the flag example of POST /api/flags (recommendations-model: control and treatment). */
const CREATE_EXAMPLE = {
  flagKey: 'recommendations-model',
  variant: 'treatment',
  stages: [
    { percentage: 5, durationSeconds: 3600 },
    { percentage: 15, durationSeconds: 3600 },
    { percentage: 35, durationSeconds: 7200 },
    { percentage: 65, durationSeconds: 7200 },
    { percentage: 100, durationSeconds: 0 },
  ],
  analysis: {
    alpha: 0.05,
    minRequests: 200,
    guardrails: {
      errorRate: { absolute: 0.01 },
      abandonmentRate: { absolute: 0.01 },
      invalidRequestRate: { absolute: 0.01 },
      latencyP50: { relative: 0.2 },
      latencyP95: { relative: 0.2 },
      latencyP99: { relative: 0.2 },
      ttftP50: { relative: 0.2 },
      ttftP95: { relative: 0.2 },
      costPerRequest: null,
    },
    hardGates: { maxErrorRate: null, maxP99LatencyMs: null, maxCostPerRequestUsd: null },
    outcomes: [{ metric: 'empty_answer', margin: { absolute: 0.005 } }],
    srmPValue: 0.001,
  },
  maxStageExtensions: 2,
  start: true,
};

/** The same plan, started by a shadow stage: users stay on the control while 10% of them are copied to the candidate. */
const SHADOW_EXAMPLE = {
  flagKey: 'recommendations-model',
  variant: 'treatment',
  shadow: { percentage: 10, durationSeconds: 3600, maxSpendUsd: 20, maxConcurrency: 16, minAgreementRate: 0.8 },
  stages: CREATE_EXAMPLE.stages,
  start: true,
};

const ACTION_SUMMARIES: Record<CanaryAction, string> = {
  start: 'Start a pending canary: stage 1 weight on the flag',
  pause: 'Pause a running canary: weights stay, no verdicts until resumed',
  resume: 'Resume a paused canary: the current stage gets a fresh window (409 while a budget of the canary is used up)',
  promote: 'Promote now: treatment to 100%, canary ends',
  abort: 'Abort: treatment weight to 0, canary ends',
  rollback: 'Roll back by hand: treatment weight to 0, canary ends as rolled_back',
};

@ApiTags('canaries')
@ScopeByMethod()
@Controller('api/canaries')
export class CanaryController {
  constructor(
    private readonly canaries: CanaryService,
    private readonly previews: CanaryPreviewService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a canary for a flag variant (started at once unless start is false)' })
  @ApiBodyExamples(CreateCanaryDto, {
    'five-stages': {
      summary: 'The default 5 -> 15 -> 35 -> 65 -> 100% plan, with its gates spelled out',
      value: CREATE_EXAMPLE,
    },
  })
  @ApiCreatedResponse({ type: CanaryDto })
  @ApiDatabaseUnavailable()
  @ApiInvalidBody(
    'Unknown flag or variant, stages not rising, bad analysis field (each named)',
    {
      status: 400,
      message:
        'analysis.guardrails.latencyP99 must be { "absolute": number } or { "relative": number } (how much worse than the control it may be), or null for off; got 1.2',
    },
    {
      status: 400,
      message: 'stages[0].percentage: the final stage must be 100 (the rollout ends with everyone on the treatment)',
    },
    { status: 400, message: 'flagKey: flag "recommendations-model" does not exist' },
  )
  @ApiOperatorError(
    'The flag already has an active canary, or no catalog policy routes by it (flag_unused: it serves no request)',
    {
      status: 409,
      message: `flag "recommendations-model" already has an active canary (canary ${EXAMPLE_ID}, running); abort or finish it first`,
    },
    new FlagUnused('search-model', [
      { name: 'recommendations', flag: 'recommendations-model' },
      { name: 'chat', flag: 'chat-model' },
      { name: 'fraud', flag: 'fraud-model' },
    ]),
  )
  create(@Body() dto: CreateCanaryDto, @Caller() caller: AuthenticatedCaller): Promise<CanaryDto> {
    return this.canaries.create(dto, caller.actor);
  }

  @Post('preview')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Plan before start: the create body judged against the flag's last hour of traffic — expected requests per arm and stage, the smallest regressions each stage can roll back (80% power), time to the first verdict. Nothing is created",
  })
  @ApiBodyExamples(CreateCanaryDto, {
    'five-stages': { summary: 'The default plan and analysis', value: CREATE_EXAMPLE },
    'shadow-first': { summary: 'With a shadow stage: what it adds before the stages', value: SHADOW_EXAMPLE },
  })
  @ApiOkResponse({ type: CanaryPreviewDto })
  @ApiDatabaseUnavailable()
  @ApiInvalidBody('The same checks as create, each problem naming its field', {
    status: 400,
    message: 'flagKey: flag "recommendations-model" does not exist',
  })
  @ApiOperatorError(
    'No catalog policy routes by the flag (flag_unused): it serves no request, there is nothing to plan from',
    new FlagUnused('search-model', [
      { name: 'recommendations', flag: 'recommendations-model' },
      { name: 'chat', flag: 'chat-model' },
      { name: 'fraud', flag: 'fraud-model' },
    ]),
  )
  preview(@Body() dto: CreateCanaryDto): Promise<CanaryPreviewDto> {
    return this.previews.preview(dto);
  }

  @Get()
  @ApiOperation({
    summary:
      'Canaries, newest first, a page at a time (`before`); `state` keeps those in some states (active, ended), `flagKey` those of one flag',
  })
  @ApiOkResponse({ type: CanaryPageDto })
  @ApiDatabaseUnavailable()
  @ApiOperatorError(
    'A bad query value or an unknown parameter, named in the message, or a `before` that names no canary',
    new InvalidInput(['limit must be an integer between 1 and 200']),
    new UnknownCanaryCursor(EXAMPLE_ID),
  )
  list(@Query() query: ListCanariesQueryDto): Promise<CanaryPageDto> {
    return this.canaries.list(
      { states: query.state === undefined ? undefined : statesOf(query.state), flagKey: query.flagKey },
      query.limit ?? DEFAULT_CANARY_PAGE,
      query.before,
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'One canary: state, stage and time in it, last verdict with its numbers' })
  @ApiCanaryId()
  @ApiOkResponse({ type: CanaryDto })
  @ApiDatabaseUnavailable()
  @ApiOperatorError('The id is not a UUID', badId)
  @ApiCanaryNotFound()
  get(@CanaryId() id: string): Promise<CanaryDto> {
    return this.canaries.get(id);
  }

  @Get(':id/events')
  @ApiOperation({ summary: 'Every transition and every verdict with its evidence, oldest first, paged with `after`' })
  @ApiCanaryId()
  @ApiOkResponse({ type: CanaryEventPageDto })
  @ApiDatabaseUnavailable()
  @ApiOperatorError(
    'The id is not a UUID, or a bad limit or cursor',
    badId,
    new InvalidInput(['limit must be an integer between 1 and 500']),
  )
  @ApiCanaryNotFound()
  events(@CanaryId() id: string, @Query() query: CanaryEventsQueryDto): Promise<CanaryEventPageDto> {
    return this.canaries.events(id, query.limit ?? DEFAULT_EVENTS_LIMIT, query.after, query.quietEvery);
  }

  @Get(':id/shadow-pairs')
  @RequireScope('admin')
  @ApiOperation({
    summary:
      "The shadow stage's pairs, newest first: both sides' outcomes, latencies, tokens, costs, quality signals and agreement; the answers (cut to SHADOW_ANSWER_CHARS) only on disagreeing pairs. Admin keys only: answers may hold user data",
  })
  @ApiCanaryId()
  @ApiOkResponse({ type: [ShadowPairDto] })
  @ApiDatabaseUnavailable()
  @ApiOperatorError(
    'The id is not a UUID, or a bad disagree or limit',
    badId,
    new InvalidInput(['disagree must be true or false', 'limit must be an integer between 1 and 500']),
  )
  @ApiCanaryNotFound()
  shadowPairs(@CanaryId() id: string, @Query() query: ShadowPairsQueryDto): Promise<ShadowPairDto[]> {
    return this.canaries.shadowPairList(id, query.disagree === 'true', query.limit ?? DEFAULT_SHADOW_PAIRS_LIMIT);
  }

  @Post(':id/:action')
  @HttpCode(200)
  @ApiOperation({
    summary: `Manual action: ${Object.entries(ACTION_SUMMARIES)
      .map(([action, summary]) => `${action} (${summary})`)
      .join('; ')}`,
  })
  @ApiCanaryId()
  @ApiParam({ name: 'action', schema: { type: 'string', enum: Object.keys(ACTION_SUMMARIES), example: 'pause' } })
  @ApiOkResponse({ type: CanaryDto })
  @ApiDatabaseUnavailable()
  @ApiInvalidBody(
    'The id is not a UUID, an unknown action, or a bad reason',
    badId,
    { status: 400, message: `unknown action "stop"; one of: ${Object.keys(ACTION_SUMMARIES).join(', ')}` },
    new InvalidInput([blankReason('reason')]),
  )
  @ApiCanaryNotFound()
  @ApiOperatorError(
    'The action does not apply in the current state (named in the message), the flag was archived meanwhile (abort ends the canary), or a resume while a budget of the canary is used up (canary_budget_exhausted, naming the budget)',
    {
      status: 409,
      message: `canary ${EXAMPLE_ID} is pending; resume applies only to a canary that is paused`,
    },
    new CanaryFlagArchived(EXAMPLE_ID, 'recommendations-model', 'resume'),
    new CanaryBudgetExhausted(
      EXAMPLE_ID,
      EXAMPLE_BUDGET_ID,
      `canary budget "recommendations-model/treatment" (week, $0.004; id ${EXAMPLE_BUDGET_ID}) is used up: a single request's worst case ($0.262) exceeds the $0.004 left of its limit after what is spent and reserved (each request reserves its worst case before the call). The treatment's requests would go to the control, so the stage would have none of its own to judge. Raise its limit (PATCH /api/budgets/${EXAMPLE_BUDGET_ID}) or delete it, or resume after it resets at 2026-11-30T00:00:00.000Z.`,
    ),
  )
  act(
    @CanaryId() id: string,
    @Param('action') action: string,
    @Caller() caller: AuthenticatedCaller,
    @Body() dto: CanaryActionDto = {},
  ): Promise<CanaryDto> {
    return this.canaries.act(id, parseAction(action), caller.actor, dto?.reason);
  }
}

function parseAction(action: string): CanaryAction {
  // Own keys only: `in` also finds constructor, toString and __proto__ on every object.
  if (Object.hasOwn(ACTION_SUMMARIES, action)) return action as CanaryAction;
  throw new UnknownCanaryAction(action, Object.keys(ACTION_SUMMARIES));
}

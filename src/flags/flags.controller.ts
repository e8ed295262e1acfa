import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope, ScopeByMethod } from '../access/access.decorators';
import { Caller } from '../access/caller.decorator';
import type { AuthenticatedCaller } from '../access/scopes';
import { ApiDatabaseUnavailable, ApiInvalidBody, ApiOperatorError } from '../common/api-error-responses';
import { blankReason, isBlank } from '../common/text-fields';
import { InvalidInput } from '../common/request-errors';
import {
  CreateFlagDto,
  DEFAULT_FLAG_PAGE,
  EvaluateFlagDto,
  FlagToggleDto,
  HistoryQueryDto,
  ListFlagsQueryDto,
  MAX_REASON_LENGTH,
  SetRolloutDto,
  UpdateFlagDto,
} from './dto/flag-input.dto';
import { CreatedFlagDto, FlagDto, FlagEvaluationDto, FlagHistoryPageDto, FlagPageDto } from './dto/flag.dto';
import { FlagChangeService } from './flag-change.service';
import type { ChangeContext } from './flag.types';
import { type FlagPage, FlagsService } from './flags.service';

const DEFAULT_HISTORY_LIMIT = 50;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A header as its sender wrote it. Node hands header bytes over one Latin-1 character each: curl sends
 * what was typed, UTF-8, which must be decoded as such; a browser sends é as the one byte 0xE9, no
 * UTF-8, which is then the Latin-1 character it already is.
 */
function headerText(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(value)) return value;
  try {
    return UTF8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/** The actor is the API key that authenticated the request (`key:<id> (<name>)`); callers cannot name themselves. */
function changeContext(
  caller: AuthenticatedCaller,
  rawHeaderReason: string | undefined,
  bodyReason: string | undefined,
): ChangeContext {
  const headerReason = rawHeaderReason === undefined ? undefined : headerText(rawHeaderReason);
  // The header is held to the body field's rules: a reason is stored in every history row.
  if (headerReason !== undefined && isBlank(headerReason)) throw new InvalidInput([blankReason('x-change-reason')]);
  if (headerReason !== undefined && headerReason.length > MAX_REASON_LENGTH)
    throw new InvalidInput([`x-change-reason must be at most ${MAX_REASON_LENGTH} characters`]);
  return { actor: caller.actor, source: 'api', reason: bodyReason ?? headerReason ?? null };
}

// Examples of the errors FlagsService and FlagChangeService answer, word for word.
const FLAG = 'recommendations-model';
const notFound = { status: 404, message: `flag "${FLAG}" does not exist` };
const staleVersion = {
  status: 409,
  message: `version 2 is stale: flag "${FLAG}" is at version 3; read it again and reapply your change on version 3`,
};
const archived = { status: 409, message: `flag "${FLAG}" is archived; archived flags cannot change` };
const overHundred = { status: 400, message: 'rollout adds up to 110%, more than 100' };
const badVersion = new InvalidInput(['version must be the flag version the change is based on (an integer from 1)']);
const ApiFlagNotFound = () => ApiOperatorError('No flag has this key', notFound);
const ApiFlagConflict = (description: string) => ApiOperatorError(description, staleVersion, archived);

const ActorHeaders = () =>
  ApiHeader({
    name: 'x-change-reason',
    required: false,
    description: `Why (recorded in history with the key as actor; not blank, at most ${MAX_REASON_LENGTH} characters); a body \`reason\` wins`,
  });

@ApiTags('flags')
@ScopeByMethod()
@Controller('api/flags')
export class FlagsController {
  constructor(
    private readonly flags: FlagsService,
    private readonly changes: FlagChangeService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a flag (version 1)' })
  @ActorHeaders()
  @ApiCreatedResponse({
    type: CreatedFlagDto,
    description: '`warnings` says when no catalog policy routes by the flag yet (`unused`: it serves no request)',
  })
  @ApiDatabaseUnavailable()
  @ApiInvalidBody(
    'Invalid field (named in the message): key, unknown model, variant params or system prompt, unknown variant, rollout over 100...',
    new InvalidInput(['key must be a lower-case slug (a-z, 0-9 and single dashes), e.g. recommendations-model']),
    { status: 400, message: 'variants.treatment: unknown model "gpt-9" (not in the catalog)' },
    {
      status: 400,
      message:
        'variants.short-prompt.params.temprature: not an OpenAI chat completion parameter a variant can set (temperature, top_p, max_tokens, max_completion_tokens, presence_penalty, frequency_penalty, seed, stop, reasoning_effort, verbosity, logit_bias, logprobs, top_logprobs, response_format, service_tier, parallel_tool_calls)',
    },
    overHundred,
  )
  @ApiOperatorError('The key is taken (also by an archived flag)', {
    status: 409,
    message: `key: a flag "${FLAG}" already exists (keys of archived flags are not reused)`,
  })
  create(
    @Body() dto: CreateFlagDto,
    @Caller() caller: AuthenticatedCaller,
    @Headers('x-change-reason') reason?: string,
  ) {
    return this.changes.create(dto, changeContext(caller, reason, dto.reason));
  }

  @Get()
  @ApiOperation({
    summary:
      'List flags by key, a page at a time (`after`): active ones unless `archived` says otherwise; `search` finds text in the key or description; `unused` marks those no catalog policy routes by',
  })
  @ApiOkResponse({ type: FlagPageDto })
  @ApiDatabaseUnavailable()
  @ApiOperatorError(
    'A bad query value or an unknown parameter, named in the message',
    new InvalidInput(['limit must be an integer between 1 and 200']),
    new InvalidInput(['page is not a field of this request; remove it']),
  )
  list(@Query() query: ListFlagsQueryDto): Promise<FlagPage> {
    return this.flags.list(
      { archived: query.archived ?? 'false', search: query.search },
      query.limit ?? DEFAULT_FLAG_PAGE,
      query.after,
    );
  }

  @Get(':key')
  @ApiOperation({ summary: 'One flag (archived ones too)' })
  @ApiOkResponse({ type: FlagDto })
  @ApiDatabaseUnavailable()
  @ApiFlagNotFound()
  get(@Param('key') key: string) {
    return this.flags.get(key);
  }

  @Patch(':key')
  @ApiOperation({ summary: 'Partial update based on `version`' })
  @ActorHeaders()
  @ApiOkResponse({ type: FlagDto })
  @ApiDatabaseUnavailable()
  @ApiInvalidBody('Invalid field (named in the message), or no version', badVersion, {
    status: 400,
    message: 'defaultVariant "nope" is not in variants (control, treatment)',
  })
  @ApiFlagNotFound()
  @ApiFlagConflict(
    'Stale version (the message gives the current one), archived flag, or a rollout, variants, default, rules or salt a running canary moves; nothing written',
  )
  update(
    @Param('key') key: string,
    @Body() dto: UpdateFlagDto,
    @Caller() caller: AuthenticatedCaller,
    @Headers('x-change-reason') reason?: string,
  ) {
    return this.changes.update(key, dto, changeContext(caller, reason, dto.reason));
  }

  @Delete(':key')
  @ApiOperation({ summary: 'Archive: no longer served, refuses changes, keeps its history; the key is not reused' })
  @ActorHeaders()
  @ApiOkResponse({ type: FlagDto })
  @ApiDatabaseUnavailable()
  @ApiBody({ type: FlagToggleDto, required: false })
  @ApiInvalidBody('A bad version or reason', badVersion)
  @ApiFlagNotFound()
  @ApiFlagConflict(
    'Stale version (when one is sent), already archived, or under a running canary (pause or abort it first)',
  )
  archive(
    @Param('key') key: string,
    @Body() dto: FlagToggleDto = {},
    @Caller() caller: AuthenticatedCaller,
    @Headers('x-change-reason') reason?: string,
  ) {
    return this.changes.archive(key, { ...changeContext(caller, reason, dto?.reason), expectedVersion: dto?.version });
  }

  @Put(':key/rollout')
  @ApiOperation({
    summary: "Replace the rollout (percentages) based on `version`; refused while a canary moves the flag's weights",
  })
  @ActorHeaders()
  @ApiOkResponse({ type: FlagDto })
  @ApiDatabaseUnavailable()
  @ApiInvalidBody('A bad percentage, an unknown variant, or no version', overHundred, badVersion)
  @ApiFlagNotFound()
  @ApiFlagConflict(
    'Stale version (the message gives the current one), archived flag, or a running canary; nothing written',
  )
  setRollout(
    @Param('key') key: string,
    @Body() dto: SetRolloutDto,
    @Caller() caller: AuthenticatedCaller,
    @Headers('x-change-reason') reason?: string,
  ) {
    return this.changes.setRollout(key, dto.rollout, {
      ...changeContext(caller, reason, dto.reason),
      expectedVersion: dto.version,
    });
  }

  @Post(':key/kill')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Kill switch: everyone gets the default variant. `version` optional so it works in an emergency',
  })
  @ActorHeaders()
  @ApiOkResponse({ type: FlagDto })
  @ApiDatabaseUnavailable()
  @ApiBody({ type: FlagToggleDto, required: false })
  @ApiInvalidBody('A bad version or reason', badVersion)
  @ApiFlagNotFound()
  @ApiFlagConflict('Stale version (when one is sent) or archived flag')
  kill(
    @Param('key') key: string,
    @Body() dto: FlagToggleDto = {},
    @Caller() caller: AuthenticatedCaller,
    @Headers('x-change-reason') reason?: string,
  ) {
    return this.changes.setEnabled(key, false, {
      ...changeContext(caller, reason, dto?.reason),
      expectedVersion: dto?.version,
    });
  }

  @Post(':key/enable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Turn the flag back on (rules and rollout apply again)' })
  @ActorHeaders()
  @ApiOkResponse({ type: FlagDto })
  @ApiDatabaseUnavailable()
  @ApiBody({ type: FlagToggleDto, required: false })
  @ApiInvalidBody('A bad version or reason', badVersion)
  @ApiFlagNotFound()
  @ApiFlagConflict('Stale version (when one is sent) or archived flag')
  enable(
    @Param('key') key: string,
    @Body() dto: FlagToggleDto = {},
    @Caller() caller: AuthenticatedCaller,
    @Headers('x-change-reason') reason?: string,
  ) {
    return this.changes.setEnabled(key, true, {
      ...changeContext(caller, reason, dto?.reason),
      expectedVersion: dto?.version,
    });
  }

  @Get(':key/history')
  @ApiOperation({ summary: 'Change history, newest first, paged with `before`' })
  @ApiOkResponse({ type: FlagHistoryPageDto })
  @ApiDatabaseUnavailable()
  @ApiOperatorError('A bad limit or cursor', new InvalidInput(['limit must be an integer between 1 and 200']))
  @ApiFlagNotFound()
  history(@Param('key') key: string, @Query() query: HistoryQueryDto) {
    return this.changes.historyOf(key, query.limit ?? DEFAULT_HISTORY_LIMIT, query.before);
  }

  @Post(':key/evaluate')
  // A POST only to carry the user's attributes: it changes nothing, so a read key may ask.
  @RequireScope('read')
  @HttpCode(200)
  @ApiOperation({
    summary: 'What this user would get now, with bucket and reason (from the in-memory cache); needs the read scope',
  })
  @ApiOkResponse({ type: FlagEvaluationDto, description: 'Served from memory: also while the database is down' })
  @ApiInvalidBody('A bad user id or attribute', { status: 400, message: 'attributes.tier must be a string' })
  @ApiOperatorError('Unknown or archived flag', {
    status: 404,
    message: `flag "${FLAG}" does not exist or is archived (archived flags are not served)`,
  })
  evaluate(@Param('key') key: string, @Body() dto: EvaluateFlagDto) {
    return this.flags.evaluate(key, { userId: dto.userId, attributes: dto.attributes });
  }
}

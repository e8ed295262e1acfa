import { Body, Controller, Delete, Get, Patch, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ScopeByMethod } from '../access/access.decorators';
import { Caller } from '../access/caller.decorator';
import type { AuthenticatedCaller } from '../access/scopes';
import {
  ApiBodyExamples,
  ApiDatabaseUnavailable,
  ApiInvalidBody,
  ApiOperatorError,
} from '../common/api-error-responses';
import { InvalidInput } from '../common/request-errors';
import { UuidParam } from '../common/uuid-param';
import { notAField } from '../common/validation';
import { BudgetExists, BudgetInvalid, BudgetNotFound, BudgetVersionConflict } from './budget.errors';
import { BudgetsService } from './budgets.service';
import { CreateBudgetDto, DeleteBudgetDto, UpdateBudgetDto, VERSION_MESSAGE } from './dto/budget-input.dto';
import { BudgetDto, BudgetStatusDto } from './dto/budget.dto';

const EXAMPLE_ID = '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
const BudgetId = () => UuidParam('id', 'a budget id');
const ApiBudgetIdParam = () =>
  ApiParam({ name: 'id', format: 'uuid', description: 'The `id` of a budget', example: EXAMPLE_ID });
const badId = new InvalidInput(['id must be a budget id (a UUID)'], 'id');
const badVersion = new InvalidInput([VERSION_MESSAGE]);
const ApiBadBudgetId = () => ApiOperatorError('The id is not a UUID', badId);
const ApiBudgetNotFound = () => ApiOperatorError('No budget has this id', new BudgetNotFound(EXAMPLE_ID));
const EXAMPLE_NAME = `policy budget "chat" (month in Europe/Paris, $400.00; id ${EXAMPLE_ID})`;
const ApiStaleVersion = (description: string, action: 'change' | 'delete') =>
  ApiOperatorError(description, new BudgetVersionConflict(EXAMPLE_NAME, 2, 3, action));

@ApiTags('budgets')
@ScopeByMethod()
@ApiDatabaseUnavailable()
@Controller('api/budgets')
export class BudgetsController {
  constructor(private readonly budgets: BudgetsService) {}

  @Post()
  @ApiOperation({
    summary:
      'Create a spend budget on a key (team), a policy (use case) or a canary: in force on every replica at once',
  })
  @ApiBodyExamples(CreateBudgetDto, {
    policy: {
      summary: "$250 a month for the chat use case; then the policy's cheapest model serves",
      value: {
        scope: 'policy',
        target: 'chat',
        limitUsd: 250,
        period: 'month',
        timezone: 'Europe/Paris',
        onExhausted: 'downgrade',
        alertAt: [0.5, 0.8, 1],
      },
    },
  })
  @ApiCreatedResponse({ type: BudgetDto })
  @ApiInvalidBody(
    'Invalid field (each named in the message), an unknown target, a bad time zone, or shadow_only outside a canary',
    new InvalidInput([
      'limitUsd must be a USD amount above 0 and at most 1000000000, with at most 6 decimals (e.g. 250 or 0.05)',
    ]),
    new BudgetInvalid(['target: "poetry" is not a policy (catalog policies: recommendations, chat, fraud)']),
  )
  @ApiOperatorError(
    'A budget for this target and period exists',
    new BudgetExists(EXAMPLE_ID, 'policy', 'chat', 'month'),
  )
  create(@Body() dto: CreateBudgetDto, @Caller() caller: AuthenticatedCaller): Promise<BudgetDto> {
    return this.budgets.create(dto, caller);
  }

  @Get()
  @ApiOperation({ summary: 'Every budget with its current period: spent, reserved, remaining' })
  @ApiOkResponse({ type: [BudgetDto] })
  list(): Promise<BudgetDto[]> {
    return this.budgets.list();
  }

  @Get(':id')
  @ApiOperation({
    summary: "A budget's current period: spent, reserved, remaining, forecast exhaustion, leases and top spenders",
  })
  @ApiBudgetIdParam()
  @ApiOkResponse({ type: BudgetStatusDto })
  @ApiBadBudgetId()
  @ApiBudgetNotFound()
  get(@BudgetId() id: string): Promise<BudgetStatusDto> {
    return this.budgets.get(id);
  }

  @Patch(':id')
  @ApiOperation({
    summary:
      'Change the limit, the action or the alert thresholds (+1 version); a lower limit holds at once. With `version`, a change based on a stale one gets 409',
  })
  @ApiBudgetIdParam()
  @ApiBodyExamples(UpdateBudgetDto, {
    limit: {
      summary: 'Raise the limit to $400, based on the version read (a stale one gets 409)',
      value: { limitUsd: 400, version: 1 },
    },
  })
  @ApiOkResponse({ type: BudgetDto })
  @ApiInvalidBody(
    'Invalid field (a bad version among them), or shadow_only on a budget that is not a canary budget',
    badId,
    badVersion,
    new BudgetInvalid(['onExhausted: shadow_only applies to canary budgets only (scope canary)']),
  )
  @ApiBudgetNotFound()
  @ApiStaleVersion('The version sent is not the current one (the message gives it); nothing written', 'change')
  update(
    @BudgetId() id: string,
    @Body() dto: UpdateBudgetDto,
    @Caller() caller: AuthenticatedCaller,
  ): Promise<BudgetDto> {
    return this.budgets.update(id, dto, caller);
  }

  @Delete(':id')
  @ApiOperation({
    summary:
      'Delete a budget and its ledger; requests under it are no longer limited by it. With `version` (optional), a deletion based on a stale one gets 409',
  })
  @ApiBudgetIdParam()
  @ApiBody({ type: DeleteBudgetDto, required: false })
  @ApiOkResponse({ type: BudgetDto, description: 'The budget as it stood' })
  @ApiInvalidBody(
    'The id is not a UUID, a bad version, or a field the body does not take',
    badId,
    badVersion,
    new InvalidInput([notAField('force')]),
  )
  @ApiBudgetNotFound()
  @ApiStaleVersion('The version sent is not the current one (the message gives it); the budget stays', 'delete')
  delete(
    @BudgetId() id: string,
    @Body() dto: DeleteBudgetDto = {},
    @Caller() caller: AuthenticatedCaller,
  ): Promise<BudgetDto> {
    return this.budgets.delete(id, caller, dto?.version);
  }
}

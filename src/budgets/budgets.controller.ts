import { Body, Controller, Delete, Get, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ScopeByMethod } from '../access/access.decorators';
import { Caller } from '../access/caller.decorator';
import type { AuthenticatedCaller } from '../access/scopes';
import {
  ApiBodyExamples,
  ApiDatabaseUnavailable,
  ApiInvalidBody,
  ApiNoBody,
  ApiOperatorError,
} from '../common/api-error-responses';
import { InvalidInput } from '../common/request-errors';
import { UuidParam } from '../common/uuid-param';
import { notAField } from '../common/validation';
import { BudgetExists, BudgetInvalid, BudgetNotFound } from './budget.errors';
import { BudgetsService } from './budgets.service';
import { CreateBudgetDto, UpdateBudgetDto } from './dto/budget-input.dto';
import { BudgetDto, BudgetStatusDto } from './dto/budget.dto';

const EXAMPLE_ID = '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
const BudgetId = () => UuidParam('id', 'a budget id');
const ApiBudgetIdParam = () =>
  ApiParam({ name: 'id', format: 'uuid', description: 'The `id` of a budget', example: EXAMPLE_ID });
/** With `bodyFields`, the route takes no body: one with fields is refused too. */
const ApiBadBudgetId = (...bodyFields: InvalidInput[]) =>
  ApiOperatorError(
    bodyFields.length > 0 ? 'The id is not a UUID, or the request has a body with fields' : 'The id is not a UUID',
    new InvalidInput(['id must be a budget id (a UUID)'], 'id'),
    ...bodyFields,
  );
const ApiBudgetNotFound = () => ApiOperatorError('No budget has this id', new BudgetNotFound(EXAMPLE_ID));

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
  @ApiOperation({ summary: 'Change the limit, the action or the alert thresholds; a lower limit holds at once' })
  @ApiBudgetIdParam()
  @ApiBodyExamples(UpdateBudgetDto, { limit: { summary: 'Raise the limit to $400', value: { limitUsd: 400 } } })
  @ApiOkResponse({ type: BudgetDto })
  @ApiInvalidBody(
    'Invalid field, or shadow_only on a budget that is not a canary budget',
    new InvalidInput(['id must be a budget id (a UUID)'], 'id'),
    new BudgetInvalid(['onExhausted: shadow_only applies to canary budgets only (scope canary)']),
  )
  @ApiBudgetNotFound()
  update(
    @BudgetId() id: string,
    @Body() dto: UpdateBudgetDto,
    @Caller() caller: AuthenticatedCaller,
  ): Promise<BudgetDto> {
    return this.budgets.update(id, dto, caller);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a budget and its ledger; requests under it are no longer limited by it' })
  @ApiBudgetIdParam()
  @ApiNoBody('None: a deletion takes no option.')
  @ApiOkResponse({ type: BudgetDto, description: 'The budget as it stood' })
  @ApiBadBudgetId(new InvalidInput([notAField('force')]))
  @ApiBudgetNotFound()
  delete(@BudgetId() id: string, @Caller() caller: AuthenticatedCaller): Promise<BudgetDto> {
    return this.budgets.delete(id, caller);
  }
}

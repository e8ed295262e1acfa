import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { IsNumberWithDecimals } from '../../common/range-validators';
import { Optional } from '../../common/validation';
import {
  BUDGET_ACTIONS,
  BUDGET_PERIODS,
  BUDGET_SCOPES,
  type BudgetAction,
  type BudgetPeriod,
  type BudgetScope,
} from '../budget.types';

const LIMIT =
  'limitUsd must be a USD amount above 0 and at most 1000000000, with at most 6 decimals (e.g. 250 or 0.05)';

export const VERSION_MESSAGE =
  'version must be the budget version your change is based on (an integer from 1, as GET /api/budgets/:id answers it)';

const ALERT_AT =
  'alertAt must be a list of up to 10 distinct fractions of the limit above 0 and at most 1, e.g. [0.5, 0.8, 1]';

export class CreateBudgetDto {
  @ApiProperty({
    enum: BUDGET_SCOPES,
    example: 'policy',
    description:
      "key: a team's API key; policy: a use case (route:<policy>); canary: a canary's treatment traffic (and its shadow calls)",
  })
  @IsIn(BUDGET_SCOPES, { message: `scope must be one of: ${BUDGET_SCOPES.join(', ')}` })
  scope: BudgetScope;

  @ApiProperty({
    example: 'chat',
    description: "The key's id (GET /api/keys), the policy's name, or the canary's id",
  })
  @IsString({ message: "target must be the key's id, the policy's name or the canary's id" })
  @MaxLength(200, { message: 'target must be at most 200 characters' })
  target: string;

  @ApiProperty({ example: 250, description: 'The limit per period, in USD at the catalog prices' })
  // At most 6 decimals, like catalog prices: limits compare exactly with costs in picodollars.
  @IsNumberWithDecimals(6, LIMIT)
  @Min(0.000001, { message: LIMIT })
  @Max(1_000_000_000, { message: LIMIT })
  limitUsd: number;

  @ApiProperty({
    enum: BUDGET_PERIODS,
    example: 'month',
    description: 'day, week (Monday first) and month follow the calendar in `timezone`; total never resets',
  })
  @IsIn(BUDGET_PERIODS, { message: `period must be one of: ${BUDGET_PERIODS.join(', ')}` })
  period: BudgetPeriod;

  @ApiPropertyOptional({ example: 'Europe/Paris', default: 'UTC', description: 'IANA time zone of the periods' })
  @Optional()
  @IsString({ message: 'timezone must be an IANA time zone such as Europe/Paris or UTC' })
  @MaxLength(64, { message: 'timezone must be an IANA time zone such as Europe/Paris or UTC' })
  timezone?: string;

  @ApiProperty({
    enum: BUDGET_ACTIONS,
    example: 'downgrade',
    description:
      "reject: 429 insufficient_quota; downgrade: the policy's cheapest healthy model serves (the spend is still counted); shadow_only (canary scope): treatment traffic goes to the control. A canary's budget of any action pauses the canary when it runs out (shadow_only also takes its treatment to 0%)",
  })
  @IsIn(BUDGET_ACTIONS, { message: `onExhausted must be one of: ${BUDGET_ACTIONS.join(', ')}` })
  onExhausted: BudgetAction;

  @ApiPropertyOptional({
    type: [Number],
    example: [0.5, 0.8, 1],
    default: [0.5, 0.8, 1],
    description: 'An alert when spend crosses each of these fractions of the limit, once per period',
  })
  @Optional()
  @IsArray({ message: ALERT_AT })
  @ArrayMaxSize(10, { message: ALERT_AT })
  @ArrayUnique({ message: ALERT_AT })
  @IsNumber({ allowNaN: false, allowInfinity: false }, { each: true, message: ALERT_AT })
  @Min(0.000001, { each: true, message: ALERT_AT })
  @Max(1, { each: true, message: ALERT_AT })
  alertAt?: number[];
}

export class UpdateBudgetDto {
  @ApiPropertyOptional({ example: 400, description: 'A lower limit than spent + reserved refuses from now on' })
  @Optional()
  // At most 6 decimals, like catalog prices: limits compare exactly with costs in picodollars.
  @IsNumberWithDecimals(6, LIMIT)
  @Min(0.000001, { message: LIMIT })
  @Max(1_000_000_000, { message: LIMIT })
  limitUsd?: number;

  @ApiPropertyOptional({ enum: BUDGET_ACTIONS, example: 'reject' })
  @Optional()
  @IsIn(BUDGET_ACTIONS, { message: `onExhausted must be one of: ${BUDGET_ACTIONS.join(', ')}` })
  onExhausted?: BudgetAction;

  @ApiPropertyOptional({ type: [Number], example: [0.5, 0.9, 1] })
  @Optional()
  @IsArray({ message: ALERT_AT })
  @ArrayMaxSize(10, { message: ALERT_AT })
  @ArrayUnique({ message: ALERT_AT })
  @IsNumber({ allowNaN: false, allowInfinity: false }, { each: true, message: ALERT_AT })
  @Min(0.000001, { each: true, message: ALERT_AT })
  @Max(1, { each: true, message: ALERT_AT })
  alertAt?: number[];

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    example: 3,
    description:
      'The version the change is based on: when given, a stale one gets 409 and nothing is written; when omitted, the change applies to the current version',
  })
  @Optional()
  @IsInt({ message: VERSION_MESSAGE })
  @Min(1, { message: VERSION_MESSAGE })
  version?: number;
}

/** The optional body of DELETE /api/budgets/:id. */
export class DeleteBudgetDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    example: 3,
    description:
      'The version the deletion is based on: when given, a stale one gets 409 and the budget stays; when omitted, the budget is deleted whatever its version',
  })
  @Optional()
  @IsInt({ message: VERSION_MESSAGE })
  @Min(1, { message: VERSION_MESSAGE })
  version?: number;
}

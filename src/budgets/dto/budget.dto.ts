import { ApiProperty } from '@nestjs/swagger';
import { SpenderDto } from '../../metrics/dto/metrics-result.dto';
import { BUDGET_ACTIONS, BUDGET_PERIODS, BUDGET_SCOPES } from '../budget.types';

export class BudgetPeriodDto {
  @ApiProperty({ example: '2026-11-01T00:00:00.000Z' }) start: string;
  @ApiProperty({
    example: '2026-12-01T00:00:00.000Z',
    nullable: true,
    type: String,
    description: 'When the period ends and the budget resets; null for total',
  })
  end: string | null;
  @ApiProperty({ example: 182.4, description: 'Settled by every replica (each settles every BUDGET_SYNC_MS)' })
  spentUsd: number;
  @ApiProperty({ example: 0.35, description: "Worst cases of requests in flight, as of each replica's last sync" })
  reservedUsd: number;
  @ApiProperty({ example: 67.25, description: 'limit - spent - reserved, at least 0' }) remainingUsd: number;
  @ApiProperty({
    example: false,
    description:
      'A request was refused (or downgraded, or sent to the control) for this budget in this period, and its limit was not raised above the spend since',
  })
  exhausted: boolean;
}

export class BudgetForecastDto {
  @ApiProperty({
    example: 4.1,
    description:
      'Settled spend over burnRateWindowSeconds (the last hour, or the life of a younger budget), in USD per hour',
  })
  burnRateUsdPerHour: number;
  @ApiProperty({
    example: 3600,
    description:
      "What the burn rate is measured over: the last hour, or the budget's life when it is younger (at least 60 s)",
  })
  burnRateWindowSeconds: number;
  @ApiProperty({
    example: '2026-11-28T14:20:00.000Z',
    nullable: true,
    type: String,
    description:
      'When the remaining budget runs out at that rate; once it has run out in this period (current.exhausted), the time it did, never a time to come; null when nothing is spent',
  })
  exhaustionAt: string | null;
  @ApiProperty({ example: false, description: 'exhaustionAt comes before the period ends (true once it ran out)' })
  exhaustsBeforeReset: boolean;
}

export class BudgetLeaseDto {
  @ApiProperty({ example: 'gateway-7f9c:4121:1a2b3c4d' }) replica: string;
  @ApiProperty({ example: 12.5, description: 'Headroom this replica may reserve from without asking Postgres' })
  grantedUsd: number;
  @ApiProperty({ example: 0.12 }) reservedUsd: number;
  @ApiProperty({ example: '2026-11-24T10:00:30.000Z' }) expiresAt: string;
}

export class TopSpendersDto {
  @ApiProperty({ example: 'apiKey', enum: ['apiKey', 'policy'] }) groupBy: string;
  @ApiProperty({ type: [SpenderDto] }) items: SpenderDto[];
}

export class BudgetDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: BUDGET_SCOPES, example: 'policy' }) scope: string;
  @ApiProperty({ example: 'chat' }) target: string;
  @ApiProperty({ example: 250 }) limitUsd: number;
  @ApiProperty({ enum: BUDGET_PERIODS, example: 'month' }) period: string;
  @ApiProperty({ example: 'Europe/Paris' }) timezone: string;
  @ApiProperty({ enum: BUDGET_ACTIONS, example: 'downgrade' }) onExhausted: string;
  @ApiProperty({ type: [Number], example: [0.5, 0.8, 1] }) alertAt: number[];
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    example: 3,
    description:
      'Starts at 1, +1 with every change of the limit, the action or the alert thresholds; send it back with a PATCH or DELETE (a stale one gets 409)',
  })
  version: number;
  @ApiProperty({ example: 'key:0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b (platform-oncall)' }) createdBy: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
  @ApiProperty({ type: BudgetPeriodDto, description: 'The period running now' }) current: BudgetPeriodDto;
}

export class BudgetStatusDto extends BudgetDto {
  @ApiProperty({ type: BudgetForecastDto }) forecast: BudgetForecastDto;
  @ApiProperty({ type: [BudgetLeaseDto], description: "Replicas' live leases of this period" })
  leases: BudgetLeaseDto[];
  @ApiProperty({
    type: TopSpendersDto,
    description:
      "The biggest spenders under it over the window its spent covers (this period, since the budget was created): keys (teams) of a policy's or canary's budget, policies of a key's",
  })
  topSpenders: TopSpendersDto;
}

import { ApiProperty } from '@nestjs/swagger';
import { OUTCOME_DIRECTIONS, OUTCOME_HISTORY_ACTIONS, OUTCOME_TYPES, OUTCOME_UNITS } from '../outcome.types';

export class OutcomeMetricDto {
  @ApiProperty({ example: 'checkout_converted' })
  key: string;
  @ApiProperty({ example: 'The user bought what the recommendations suggested' })
  description: string;
  @ApiProperty({ enum: OUTCOME_TYPES, example: 'binary' })
  type: string;
  @ApiProperty({ enum: OUTCOME_DIRECTIONS, example: 'higher_is_better' })
  direction: string;
  @ApiProperty({ enum: OUTCOME_UNITS, example: 'user' })
  unit: string;
  @ApiProperty({ example: 86400, nullable: true, type: Number, description: 'Null for built-in signals' })
  attributionWindowSeconds: number | null;
  @ApiProperty({
    example: false,
    description: 'A built-in answer-quality signal the gateway computes itself: listed, read-only',
  })
  builtIn: boolean;
  @ApiProperty({ example: 1, description: '0 for built-ins' })
  version: number;
  @ApiProperty({ example: false })
  archived: boolean;
  @ApiProperty({ example: null, nullable: true, type: String })
  archivedAt: string | null;
  @ApiProperty({ example: '2026-12-01T09:00:00.000Z', nullable: true, type: String })
  createdAt: string | null;
  @ApiProperty({ example: '2026-12-01T09:00:00.000Z', nullable: true, type: String })
  updatedAt: string | null;
}

export class OutcomeMetricHistoryEntryDto {
  @ApiProperty({ example: 7 })
  id: number;
  @ApiProperty({ example: 'checkout_converted' })
  metricKey: string;
  @ApiProperty({ example: 2, description: 'The version this change produced' })
  version: number;
  @ApiProperty({ enum: OUTCOME_HISTORY_ACTIONS, example: 'updated' })
  action: string;
  @ApiProperty({ type: OutcomeMetricDto, nullable: true, description: 'Before the change (null when created)' })
  before: OutcomeMetricDto | null;
  @ApiProperty({ type: OutcomeMetricDto })
  after: OutcomeMetricDto;
  @ApiProperty({ example: 'key:ops (0b6f5a3e)' })
  actor: string;
  @ApiProperty({ example: 'Conversions arrive later than we thought', nullable: true, type: String })
  reason: string | null;
  @ApiProperty({ example: '2026-12-01T09:30:00.000Z' })
  at: string;
}

export class OutcomeMetricHistoryPageDto {
  @ApiProperty({ type: [OutcomeMetricHistoryEntryDto], description: 'Newest first' })
  items: OutcomeMetricHistoryEntryDto[];
  @ApiProperty({ example: null, nullable: true, type: Number, description: 'Pass as `before` for the next page' })
  nextBefore: number | null;
}

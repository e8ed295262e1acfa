import { ApiProperty } from '@nestjs/swagger';
import { CanaryStageDto } from './canary-input.dto';

export class CanaryStageStatusDto {
  @ApiProperty({ example: 1, description: 'Index into stages' }) index: number;
  @ApiProperty({ example: 15 }) percentage: number;
  @ApiProperty({ example: 3600 }) durationSeconds: number;
  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' }) startedAt: string;
  @ApiProperty({ example: 1234.5, description: 'Time in this stage so far' }) elapsedSeconds: number;
}

export class CanaryDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'recommendations-model' }) flagKey: string;
  @ApiProperty({ example: 'treatment' }) variant: string;
  @ApiProperty({ example: 'control', description: "The flag's default variant, compared with the treatment" })
  controlVariant: string;
  @ApiProperty({ enum: ['pending', 'running', 'paused', 'promoted', 'rolled_back', 'aborted'] }) state: string;
  @ApiProperty({ type: [CanaryStageDto] }) stages: CanaryStageDto[];
  @ApiProperty({ type: CanaryStageStatusDto, nullable: true, description: 'The current stage; null before the start' })
  stage: CanaryStageStatusDto | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The analysis with every default filled in' })
  analysis: Record<string, unknown>;
  @ApiProperty({ example: 2 }) maxStageExtensions: number;
  @ApiProperty({
    example: 'https://hooks.example.internal',
    nullable: true,
    type: String,
    description: 'Origin only: webhook paths often carry a secret',
  })
  alertWebhookOrigin: string | null;
  @ApiProperty({ example: 0, description: 'Failed checks in the current stage' }) failedChecks: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'The last verdict: decision, outcome, reasons, checks and evidence',
  })
  lastVerdict: Record<string, unknown> | null;
  @ApiProperty() createdBy: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
  @ApiProperty({ nullable: true, type: String }) endedAt: string | null;
}

export class CanaryEventDto {
  @ApiProperty({ example: 17 }) id: number;
  @ApiProperty() at: string;
  @ApiProperty({ example: 'stage_advanced' }) type: string;
  @ApiProperty({ example: 'running', description: 'The state after the event' }) state: string;
  @ApiProperty({ example: 1 }) stage: number;
  @ApiProperty() message: string;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) evidence: Record<string, unknown> | null;
  @ApiProperty() actor: string;
  @ApiProperty({ description: 'The replica that wrote it' }) instance: string;
}

export class CanaryEventPageDto {
  @ApiProperty({ type: [CanaryEventDto] }) items: CanaryEventDto[];
  @ApiProperty({ nullable: true, type: Number, description: 'Pass as `after` for the next page; null at the end' })
  nextAfter: number | null;
}

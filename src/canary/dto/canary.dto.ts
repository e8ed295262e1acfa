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
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      "The last verdict: decision, outcome, its sentence, and per metric both arms' estimates, the difference, the confidence sequence, the margin, the alpha, n per arm; the SRM test",
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

export class PreviewTrafficDto {
  @ApiProperty({ example: 100.2, description: "The flag's judged requests per second over the last hour" })
  requestsPerSecond: number;
  @ApiProperty({ example: 48_213, description: 'Distinct users (plus requests without a user) in the last hour' })
  users: number;
  @ApiProperty({ example: 0.005, nullable: true, type: Number }) errorRate: number | null;
  @ApiProperty({
    example: { p50: 502, p95: 1120, p99: 1930 },
    description: 'Latency of answers, ms (null without any)',
  })
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  @ApiProperty({ example: 0.4, nullable: true, type: Number, description: 'Share of answers that were streamed' })
  streamShare: number | null;
}

export class DetectableEffectDto {
  @ApiProperty({ example: 'errorRate' }) metric: string;
  @ApiProperty({ example: 'error rate' }) label: string;
  @ApiProperty({
    enum: ['difference', 'ratio'],
    description: 'difference: treatment - control; ratio: treatment / control',
  })
  scale: string;
  @ApiProperty({ example: 0.01, description: 'The guardrail margin on that scale' }) margin: number;
  @ApiProperty({
    example: 0.0131,
    nullable: true,
    type: Number,
    description:
      'The smallest true effect this stage rolls back with 80% power by its end (null: not measurable from the traffic)',
  })
  detectable: number | null;
}

export class StagePlanDto {
  @ApiProperty({ example: 0 }) index: number;
  @ApiProperty({ example: 5 }) percentage: number;
  @ApiProperty({ example: 3600 }) durationSeconds: number;
  @ApiProperty({ example: { treatment: 18_000, control: 342_000 } }) expectedRequests: {
    treatment: number;
    control: number;
  };
  @ApiProperty({ example: true, description: 'Both arms reach minRequests within the stage' }) enoughTraffic: boolean;
  @ApiProperty({ type: [DetectableEffectDto] }) detectable: DetectableEffectDto[];
}

export class CanaryPreviewDto {
  @ApiProperty({ example: 'recommendations-model' }) flagKey: string;
  @ApiProperty({ example: 'treatment' }) variant: string;
  @ApiProperty({ example: { from: '2026-11-24T09:00:00.000Z', to: '2026-11-24T10:00:00.000Z' } })
  window: { from: string; to: string };
  @ApiProperty({ type: PreviewTrafficDto }) traffic: PreviewTrafficDto;
  @ApiProperty({ type: [StagePlanDto], description: 'Every judged stage (the final 100% is not compared)' })
  stages: StagePlanDto[];
  @ApiProperty({
    example: 40,
    nullable: true,
    type: Number,
    description: 'Seconds until both arms of the first stage have minRequests: the first verdict that is not a wait',
  })
  firstDecisionSeconds: number | null;
  @ApiProperty({ type: [String], example: [] }) warnings: string[];
  @ApiProperty({
    example: 0,
    description:
      "Seconds each judged stage lasts past its duration, for the attribution windows of its last exposures to close (the longest window of the analysis's defined outcome metrics)",
  })
  outcomeWindowSeconds: number;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The analysis with every default filled in' })
  analysis: Record<string, unknown>;
}

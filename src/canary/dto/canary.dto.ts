import { ApiProperty } from '@nestjs/swagger';
import type { CanaryPhase, ShadowPlan } from '../canary.types';
import { CanaryStageDto, ShadowStageDto } from './canary-stage.dto';

export class CanaryStageStatusDto {
  @ApiProperty({ example: 1, description: 'Index into stages' }) index: number;
  @ApiProperty({ example: 15 }) percentage: number;
  @ApiProperty({ example: 3600 }) durationSeconds: number;
  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' }) startedAt: string;
  @ApiProperty({
    example: 1234.5,
    description:
      'Time in this stage so far; it stops while the canary is paused (a resume starts the stage again) and when it ends',
  })
  elapsedSeconds: number;
  @ApiProperty({
    example: 12,
    nullable: true,
    type: Number,
    description:
      "The flag's version once the stage's weights were written: the stage counts only requests routed by it or a " +
      "later version (not those a replica routed by the previous stage's weights before it saw the change). Null " +
      'for a stage started before versions were recorded: it counts every request since startedAt',
  })
  flagVersion: number | null;
}

export class ShadowStageStatusDto {
  @ApiProperty({ example: '2026-11-24T09:00:00.000Z' }) startedAt: string;
  @ApiProperty({ example: 3600 }) durationSeconds: number;
  @ApiProperty({
    example: 120,
    description:
      'Time in the shadow stage so far; it stops while the canary is paused (a resume starts the stage again)',
  })
  elapsedSeconds: number;
}

export class CanaryTickFailureDto {
  @ApiProperty({ example: '2026-11-24T10:04:00.000Z' }) at: string;
  @ApiProperty({
    example: 'canceling statement due to statement timeout',
    description: 'The error the tick failed on (as the replica\'s log has it, "tick failed")',
  })
  reason: string;
  @ApiProperty({
    example: 'gateway-7f9c:4821:1a2b3c4d',
    description: 'The replica whose tick failed (host:pid:random)',
  })
  instance: string;
}

export class CanaryStalledDto {
  @ApiProperty({
    example: '2026-11-24T10:00:00.000Z',
    description: 'The last tick that judged the canary, or its last change (start, resume...) if later',
  })
  since: string;
  @ApiProperty({ example: 4, description: 'Tick periods (CANARY_TICK_SECONDS) gone by since then without a verdict' })
  missedTicks: number;
  @ApiProperty({
    type: CanaryTickFailureDto,
    nullable: true,
    description:
      'The latest tick that failed on it since then, and why; null when none did (no replica ticks, or none could store its failure)',
  })
  lastFailure: CanaryTickFailureDto | null;
}

export class CanaryDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'recommendations-model' }) flagKey: string;
  @ApiProperty({ example: 'treatment' }) variant: string;
  @ApiProperty({ example: 'control', description: "The flag's default variant, compared with the treatment" })
  controlVariant: string;
  @ApiProperty({ enum: ['pending', 'running', 'paused', 'promoted', 'rolled_back', 'aborted'] }) state: string;
  @ApiProperty({ type: [CanaryStageDto] }) stages: CanaryStageDto[];
  @ApiProperty({
    type: ShadowStageDto,
    nullable: true,
    description: 'The shadow stage of the plan with its defaults filled in; null without one',
  })
  shadow: ShadowPlan | null;
  @ApiProperty({
    enum: ['shadow', 'live'],
    example: 'live',
    description: 'shadow: the shadow stage (users all on the control, copies to the candidate); live: the stages',
  })
  phase: CanaryPhase;
  @ApiProperty({
    type: CanaryStageStatusDto,
    nullable: true,
    description: 'The current live stage; null before the start and during the shadow stage',
  })
  stage: CanaryStageStatusDto | null;
  @ApiProperty({
    type: ShadowStageStatusDto,
    nullable: true,
    description: 'The shadow stage while it runs; null otherwise',
  })
  shadowStage: ShadowStageStatusDto | null;
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
  @ApiProperty({
    nullable: true,
    type: String,
    example: '2026-11-24T10:20:30.000Z',
    description: 'When a tick last judged the canary (a verdict claimed its tick period)',
  })
  lastTickAt: string | null;
  @ApiProperty({
    type: CanaryStalledDto,
    nullable: true,
    description:
      'Set while the canary runs but no tick has judged it for 3 tick periods or more: its ticks fail on every replica (see switchyard_canary_tick_failures_total and the logs) or none is running. It stays as it is until a tick succeeds. Null otherwise',
  })
  stalled: CanaryStalledDto | null;
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
  @ApiProperty({
    enum: ['shadow', 'live'],
    example: 'live',
    description: "The canary's phase after the event: shadow (the shadow stage) or live (the stages)",
  })
  phase: CanaryPhase;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 1,
    description:
      "The stage after the event, as an index into stages (0 is the first, as in the canary's stage.index); null in the shadow stage, which comes before them",
  })
  stage: number | null;
  @ApiProperty() message: string;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) evidence: Record<string, unknown> | null;
  @ApiProperty() actor: string;
  @ApiProperty({ description: 'The replica that wrote it' }) instance: string;
}

export class CanaryPageDto {
  @ApiProperty({ type: [CanaryDto], description: 'Newest first' })
  items: CanaryDto[];

  @ApiProperty({
    example: '7c1d2e3f-0000-4000-8000-000000000001',
    nullable: true,
    type: String,
    description: 'Pass as `before` for the next page; null on the last page',
  })
  nextBefore: string | null;
}

export class CanaryEventPageDto {
  @ApiProperty({ type: [CanaryEventDto] }) items: CanaryEventDto[];
  @ApiProperty({ nullable: true, type: Number, description: 'Pass as `after` for the next page; null at the end' })
  nextAfter: number | null;
}

export class PreviewTrafficDto {
  @ApiProperty({ example: 100.2, description: "The flag's judged requests per second over the preview's window" })
  requestsPerSecond: number;
  @ApiProperty({
    example: 48_213,
    description: "Distinct users (plus requests without a user) in the preview's window",
  })
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

export class ShadowPreviewDto extends ShadowStageDto {
  @ApiProperty({ example: 50 }) declare minPairs: number;
  @ApiProperty({ example: 1.5 }) declare maxLatencyRatio: number;
  @ApiProperty({ example: 1.5 }) declare maxCostRatio: number;
  @ApiProperty({ example: null, nullable: true, type: Number }) declare minAgreementRate: number | null;
  @ApiProperty({
    example: 720,
    description: "Pairs expected in the stage at the flag's rate over the preview's window",
  })
  expectedPairs: number;
  @ApiProperty({
    example:
      "Before any user is moved, 10% of the flag's users have their requests copied to the candidate for 3600s after their answer (about 720 pairs at the rate of the last 60 min; at most $20.00, 16 calls in flight per replica). It passes into stage 1 with errors and quality signals no worse than the control's on the same prompts, median latency at most 1.5x and cost at most 1.5x the control's; it needs 50 pairs.",
  })
  sentence: string;
}

export class CanaryPreviewDto {
  @ApiProperty({ example: 'recommendations-model' }) flagKey: string;
  @ApiProperty({ example: 'treatment' }) variant: string;
  @ApiProperty({
    example: { from: '2026-11-24T09:00:00.000Z', to: '2026-11-24T10:00:00.000Z' },
    description:
      'The traffic the rates are measured over: the last hour, or from when the flag was created or its traffic began, when later (at least 60 s)',
  })
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
    type: ShadowPreviewDto,
    nullable: true,
    description: 'What the shadow stage adds before the stages; null without one',
  })
  shadow: ShadowPreviewDto | null;
  @ApiProperty({
    example: 0,
    description:
      "Seconds each judged stage lasts past its duration, for the attribution windows of its last exposures to close (the longest window of the analysis's defined outcome metrics)",
  })
  outcomeWindowSeconds: number;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The analysis with every default filled in' })
  analysis: Record<string, unknown>;
}

export class ShadowPairSideDto {
  @ApiProperty({ example: 'control' }) variant: string;
  @ApiProperty({ example: 'deepseek-v3.2' }) model: string;
  @ApiProperty({ example: 'ok' }) outcome: string;
  @ApiProperty({ example: 412.5 }) latencyMs: number;
  @ApiProperty({ example: null, nullable: true, type: Number, description: 'Streams only' }) ttftMs: number | null;
  @ApiProperty({ example: 120, nullable: true, type: Number }) promptTokens: number | null;
  @ApiProperty({ example: 16, nullable: true, type: Number }) completionTokens: number | null;
  @ApiProperty({ example: '0.000041', nullable: true, type: String }) costUsd: string | null;
  @ApiProperty({
    example: ['invalid_json'],
    description: 'Built-in quality signals of the answer (empty_answer, truncated, invalid_json, ...)',
  })
  qualitySignals: string[];
  @ApiProperty({ example: ['lookup_account'], description: 'Names of the tools the answer called (never executed)' })
  tools: string[];
  @ApiProperty({
    example: '{"reply": "fraud"}',
    nullable: true,
    type: String,
    description: 'The answer, cut to SHADOW_ANSWER_CHARS; only on disagreeing pairs',
  })
  answer: string | null;
}

export class ShadowPairDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: '2026-11-24T09:00:00.000Z' }) at: string;
  @ApiProperty({ example: 'req_01HZX...', description: "The user's request (its request_metrics row)" })
  primaryRequestId: string;
  @ApiProperty({ format: 'uuid', description: "The shadow call's request id (its row, marked shadow)" })
  shadowRequestId: string;
  @ApiProperty({ type: ShadowPairSideDto }) control: ShadowPairSideDto;
  @ApiProperty({ type: ShadowPairSideDto }) candidate: ShadowPairSideDto;
  @ApiProperty({ example: false, nullable: true, type: Boolean, description: 'Answers equal after normalisation' })
  exactAgreement: boolean | null;
  @ApiProperty({ example: null, nullable: true, type: Boolean, description: 'The same tool names called' })
  toolsAgreement: boolean | null;
  @ApiProperty({
    example: 1.4,
    nullable: true,
    type: Number,
    description: 'Candidate answer length / control answer length',
  })
  lengthRatio: number | null;
  @ApiProperty({ example: true }) disagree: boolean;
}

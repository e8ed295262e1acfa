import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// Documentation only: `analysis` is checked field by field by resolveCanaryAnalysis (libs/stats), which
// knows the ranges and names every problem at once, so these classes carry no validators.

export class GuardrailMarginDto {
  @ApiPropertyOptional({
    example: 0.01,
    description:
      "How much worse than the control, in the metric's own unit: a rate's share (0.01 = 1 percentage point), ms, or $. Exactly one of absolute and relative.",
  })
  absolute?: number;
  @ApiPropertyOptional({
    example: 0.2,
    description: "How much worse than the control, as a share of the control's value (0.2: at most 1.2× for latency)",
  })
  relative?: number;
}

const MARGIN = (example: Record<string, number> | null, description: string) =>
  ApiPropertyOptional({ type: GuardrailMarginDto, nullable: true, example, description: `${description}; null: off` });

/** Each guardrail: how much worse than the control the treatment may be before it is rolled back. */
export class GuardrailsDto {
  @MARGIN(
    { absolute: 0.01 },
    'Failures (5xx, timeouts, broken streams, answers a fallback had to give) per judged request',
  )
  errorRate?: GuardrailMarginDto | null;
  @MARGIN(
    { absolute: 0.01 },
    "Requests the client gave up on before the first byte, after waiting past the control's p95 time to first byte",
  )
  abandonmentRate?: GuardrailMarginDto | null;
  @MARGIN(
    { absolute: 0.01 },
    'Requests the provider refused as invalid (a model that 400s requests the control accepts)',
  )
  invalidRequestRate?: GuardrailMarginDto | null;
  @MARGIN({ relative: 0.2 }, 'Median latency of answers') latencyP50?: GuardrailMarginDto | null;
  @MARGIN({ relative: 0.2 }, 'p95 latency of answers') latencyP95?: GuardrailMarginDto | null;
  @MARGIN({ relative: 0.2 }, 'p99 latency of answers') latencyP99?: GuardrailMarginDto | null;
  @MARGIN({ relative: 0.2 }, 'Median time to first token of streamed answers') ttftP50?: GuardrailMarginDto | null;
  @MARGIN({ relative: 0.2 }, 'p95 time to first token of streamed answers') ttftP95?: GuardrailMarginDto | null;
  @MARGIN(null, 'Cost per judged request, e.g. { "relative": 0.5 } for at most 1.5× the control')
  costPerRequest?: GuardrailMarginDto | null;
}

/** Absolute limits on the treatment alone, off by default; a control past the same limit makes it a hold. */
export class HardGatesDto {
  @ApiPropertyOptional({
    example: null,
    nullable: true,
    type: Number,
    description: 'e.g. 0.05: roll back above a 5% error rate',
  })
  maxErrorRate?: number | null;
  @ApiPropertyOptional({
    example: null,
    nullable: true,
    type: Number,
    description: 'e.g. 5000: roll back when p99 latency is above 5 s',
  })
  maxP99LatencyMs?: number | null;
  @ApiPropertyOptional({ example: null, nullable: true, type: Number }) maxCostPerRequestUsd?: number | null;
}

/** An outcome metric the canary gates on, with how much worse than the control it may be. */
export class OutcomeGateDto {
  @ApiProperty({
    example: 'empty_answer',
    description:
      'A defined outcome metric (GET /api/outcome-metrics) or a built-in answer-quality signal (request-unit, binary: its rate over complete answers, lower is better)',
  })
  metric: string;
  @ApiProperty({
    type: GuardrailMarginDto,
    example: { absolute: 0.005 },
    description:
      'How much worse than the control: { "absolute": 0.005 } = 0.5 percentage points, or { "relative": 0.5 } = 1.5× the control\'s rate',
  })
  margin: GuardrailMarginDto;
}

/** Checked field by field by resolveCanaryAnalysis (libs/stats), which knows the ranges; see docs/statistics.md. */
export class CanaryAnalysisDto {
  @ApiPropertyOptional({
    example: 0.05,
    description:
      "The canary's whole false-rollback budget: the chance of rolling back a treatment within every margin, split over stages and guardrails",
  })
  alpha?: number;
  @ApiPropertyOptional({ example: 200, description: 'Requests each arm needs in a stage before anything is judged' })
  minRequests?: number;
  @ApiPropertyOptional({ type: GuardrailsDto, description: 'Any left out keeps its default' })
  guardrails?: GuardrailsDto;
  @ApiPropertyOptional({ type: HardGatesDto }) hardGates?: HardGatesDto;
  @ApiPropertyOptional({
    type: [OutcomeGateDto],
    example: [{ metric: 'empty_answer', margin: { absolute: 0.005 } }],
    description:
      'Outcome metrics judged like guardrails (anytime-valid, clustered by user, intention to treat); default none',
  })
  outcomes?: OutcomeGateDto[];
  @ApiPropertyOptional({
    example: 'checkout_converted',
    description:
      "One of `outcomes`: each verdict reports the treatment's effect on it with its confidence sequence, and the cost per outcome (e.g. per conversion) of both arms",
  })
  primaryOutcome?: string;
  @ApiPropertyOptional({
    example: 0.001,
    description:
      'A sample-ratio mismatch (users split off the weights in force) below this anytime p-value pauses the canary',
  })
  srmPValue?: number;
}

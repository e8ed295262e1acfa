import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class LatencyDto {
  @ApiProperty({ example: 412.5, nullable: true, type: Number }) avg: number | null;
  @ApiProperty({ example: 380, nullable: true, type: Number }) p50: number | null;
  @ApiProperty({ example: 900, nullable: true, type: Number }) p95: number | null;
  @ApiProperty({ example: 1210, nullable: true, type: Number }) p99: number | null;
}

export class TtftDto {
  @ApiProperty({ example: 95, nullable: true, type: Number, description: 'Streams only; null when the group had none' })
  p50: number | null;
  @ApiProperty({ example: 240, nullable: true, type: Number }) p99: number | null;
}

export class TokensDto {
  @ApiProperty({ example: 48000 }) prompt: number;
  @ApiProperty({ example: 9000 }) completion: number;
}

export class OutcomesDto {
  @ApiProperty() ok: number;
  @ApiProperty() upstream_error: number;
  @ApiProperty() timeout: number;
  @ApiProperty() rate_limited: number;
  @ApiProperty() rejected: number;
  @ApiProperty() client_aborted: number;
  @ApiProperty({ description: 'The provider refused the request as invalid (400/404/413/422); no fault of the model' })
  invalid_request: number;
}

export class OutcomeFigureDto {
  @ApiProperty({ example: 'checkout_converted' }) metric: string;
  @ApiProperty({ example: false, description: 'A built-in answer-quality signal (computed by the gateway)' })
  builtIn: boolean;
  @ApiProperty({ enum: ['binary', 'numeric'], example: 'binary' }) type: string;
  @ApiProperty({ enum: ['request', 'user'], example: 'user' }) unit: string;
  @ApiProperty({ example: 1200, description: 'Units: answers, exposed users or requests' }) n: number;
  @ApiProperty({ example: 120, description: 'Σ of values: conversions, signals counted, revenue...' })
  outcomes: number;
  @ApiProperty({ example: 0.1, nullable: true, type: Number, description: 'Rate (binary) or mean (numeric)' })
  value: number | null;
  @ApiProperty({
    example: [0.083, 0.117],
    nullable: true,
    type: [Number],
    description: '95% interval (descriptive; canaries use anytime-valid ones)',
  })
  interval: [number, number] | null;
  @ApiProperty({ example: 0.0125, nullable: true, type: Number, description: "The group's cost / outcomes" })
  costPerOutcomeUsd: number | null;
}

export class MetricsFiguresDto {
  @ApiProperty({ example: 120 }) requests: number;
  @ApiProperty({
    example: 2,
    description:
      "upstream_error + timeout + rate_limited (rejected, invalid_request and client_aborted are not the gateway's errors)",
  })
  errors: number;
  @ApiProperty({ example: 0.0167, description: 'errors / requests, a fraction' }) errorRate: number;
  @ApiProperty({ example: 1, description: 'Requests answered by a fallback model' }) fallbacks: number;
  @ApiProperty({ type: OutcomesDto }) outcomes: OutcomesDto;
  @ApiProperty({ type: LatencyDto, description: 'Total latency in ms, exact (percentile_cont over the rows)' })
  latencyMs: LatencyDto;
  @ApiProperty({ type: TtftDto, description: 'Time to first token in ms (streams)' }) ttftMs: TtftDto;
  @ApiProperty({ type: TokensDto }) tokens: TokensDto;
  @ApiProperty({ example: 0.168 }) costUsd: number;
  @ApiProperty({
    type: [OutcomeFigureDto],
    description:
      'The built-in answer-quality signals (rates over complete answers); grouped by variant, also every defined outcome metric (its exposures in the window, whether or not their attribution windows have closed)',
  })
  outcomeMetrics: OutcomeFigureDto[];
}

export class SummaryGroupDto extends MetricsFiguresDto {
  @ApiProperty({
    example: 'gpt-4.1',
    nullable: true,
    type: String,
    description: 'The group value; null for requests without one (e.g. no flag)',
  })
  key: string | null;
}

export class SummaryDto {
  @ApiProperty({ example: '2026-11-24T09:00:00.000Z' }) from: string;
  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' }) to: string;
  @ApiProperty({ example: 'model' }) groupBy: string;
  @ApiProperty({ type: [SummaryGroupDto] }) groups: SummaryGroupDto[];
}

export class TimeseriesPointDto extends MetricsFiguresDto {
  @ApiProperty({
    example: '2026-11-24T09:05:00.000Z',
    description:
      "Bucket start: a multiple of the bucket's width since 1970-01-01T00:00Z, so the same minute is the same bucket in every call. The first and last buckets count only the part of their width inside [from, to)",
  })
  t: string;
}

export class TimeseriesSeriesDto {
  @ApiProperty({ nullable: true, type: String }) key: string | null;
  @ApiProperty({ type: [TimeseriesPointDto], description: 'Buckets with at least one request, oldest first' })
  points: TimeseriesPointDto[];
}

export class TimeseriesDto {
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty() groupBy: string;
  @ApiProperty({ example: '1m' }) bucket: string;
  @ApiProperty({ type: [TimeseriesSeriesDto] }) series: TimeseriesSeriesDto[];
}

export class CostFiguresDto {
  @ApiProperty() requests: number;
  @ApiProperty({
    example: 3,
    description:
      'Requests a provider may have billed without reporting usage (an answer without usage, a stream that broke, ' +
      'a client that left after the call went out): costUsd and tokens leave them out; spend budgets charged each ' +
      'its worst case',
  })
  unpricedRequests: number;
  @ApiProperty({ type: TokensDto }) tokens: TokensDto;
  @ApiProperty({ example: 1.84, description: "Spend at the answering models' catalog prices" }) costUsd: number;
  @ApiProperty({ example: 11.5, description: "The same tokens at the reference model's prices" })
  referenceCostUsd: number;
  @ApiProperty({ example: 9.66, description: 'referenceCostUsd - costUsd' }) savingUsd: number;
  @ApiProperty({
    example: 0.84,
    nullable: true,
    type: Number,
    description: 'savingUsd / referenceCostUsd: 0.84 = "84% cheaper"',
  })
  savingRatio: number | null;
}

export class CostDimensionsDto {
  @ApiPropertyOptional({ nullable: true, type: String, example: '0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b' })
  apiKey?: string | null;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    example: 'search-team',
    description: "The key's name (its team)",
  })
  apiKeyName?: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, example: 'chat' }) policy?: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, example: 'gemini-2.5-flash' }) model?: string | null;
}

export class CostGroupDto extends CostFiguresDto {
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'The group value; with several groupings, their values joined by commas in groupBy order',
  })
  key: string | null;
  @ApiProperty({ type: CostDimensionsDto, description: 'Each grouping of groupBy with its value' })
  dimensions: CostDimensionsDto;
}

export class SpenderDto {
  @ApiProperty({ nullable: true, type: String, example: '0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b' }) key: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'search-team', description: "An API key's name" })
  name: string | null;
  @ApiProperty({ example: 1840 }) requests: number;
  @ApiProperty({ example: 0.4216 }) costUsd: number;
}

export class CostReportDto {
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty({ example: 'apiKey,policy' }) groupBy: string;
  @ApiProperty({ example: 'gpt-4.1' }) referenceModel: string;
  @ApiProperty({ type: CostFiguresDto }) total: CostFiguresDto;
  @ApiProperty({ type: [CostGroupDto] }) groups: CostGroupDto[];
}

import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsString, IsUUID, Matches } from 'class-validator';
import { Optional } from '../../common/validation';

export const SUMMARY_GROUPINGS = ['variant', 'model', 'policy', 'provider', 'apiKey'] as const;
export type SummaryGrouping = (typeof SUMMARY_GROUPINGS)[number];
export const COST_GROUPINGS = ['model', 'policy', 'apiKey'] as const;
export type CostGrouping = (typeof COST_GROUPINGS)[number];
/** One grouping, or several distinct ones separated by commas. */
const COST_GROUP_BY = new RegExp(
  `^(${COST_GROUPINGS.join('|')})(,(${COST_GROUPINGS.join('|')})){0,${COST_GROUPINGS.length - 1}}$`,
);

/** A parameter given twice arrives as a list, which is no time either: the message says both. */
const ISO = { message: '$property must be an ISO 8601 time such as 2026-11-24T10:00:00Z, given once' };

export class MetricsWindowQueryDto {
  @ApiPropertyOptional({
    description:
      'Window start (inclusive), ISO 8601; default: one hour before `to`. Equal to `to`: a window just begun, answered with zero counts; after `to`: 400',
    example: '2026-11-24T09:00:00Z',
  })
  @Optional()
  @IsISO8601({ strict: true }, ISO)
  from?: string;

  @ApiPropertyOptional({
    description: 'Window end (exclusive), ISO 8601; default: now, by the clock the gateway stamps its rows with',
    example: '2026-11-24T10:00:00Z',
  })
  @Optional()
  @IsISO8601({ strict: true }, ISO)
  to?: string;

  @ApiPropertyOptional({ description: 'Only requests routed by this flag' })
  @Optional()
  @IsString({ message: 'flag must be the key of a flag, given once' })
  flag?: string;

  @ApiPropertyOptional({ description: 'Only this variant of the flag' })
  @Optional()
  @IsString({ message: 'variant must be the name of a variant, given once' })
  variant?: string;

  @ApiPropertyOptional({ description: 'Only requests of this policy' })
  @Optional()
  @IsString({ message: 'policy must be the name of a policy, given once' })
  policy?: string;

  @ApiPropertyOptional({ description: 'Only requests answered by (or last tried on) this model' })
  @Optional()
  @IsString({ message: 'model must be a catalog model id, given once' })
  model?: string;
}

export class SummaryQueryDto extends MetricsWindowQueryDto {
  @ApiPropertyOptional({ enum: SUMMARY_GROUPINGS, default: 'model' })
  @Optional()
  @IsIn(SUMMARY_GROUPINGS, { message: `groupBy must be one of: ${SUMMARY_GROUPINGS.join(', ')}` })
  groupBy?: SummaryGrouping;
}

export class TimeseriesQueryDto extends SummaryQueryDto {
  @ApiPropertyOptional({ description: 'Bucket width: a number and s, m, h or d', default: '1m', example: '5m' })
  @Optional()
  @Matches(/^[1-9]\d{0,4}[smhd]$/, { message: 'bucket must be a width such as 30s, 1m, 15m, 1h or 1d' })
  bucket?: string;
}

export class CostQueryDto {
  @ApiPropertyOptional({
    description:
      'Window start (inclusive); default: 24 hours before `to`. Equal to `to`: a window just begun, answered with zero counts; after `to`: 400',
    example: '2026-11-23T10:00:00Z',
  })
  @Optional()
  @IsISO8601({ strict: true }, ISO)
  from?: string;

  @ApiPropertyOptional({
    description: 'Window end (exclusive); default: now, by the clock the gateway stamps its rows with',
    example: '2026-11-24T10:00:00Z',
  })
  @Optional()
  @IsISO8601({ strict: true }, ISO)
  to?: string;

  @ApiPropertyOptional({
    description:
      'model, policy or apiKey, or a comma-separated list of them: apiKey,policy is spend per team and use case',
    default: 'model',
    example: 'apiKey,policy',
  })
  @Optional()
  @Matches(COST_GROUP_BY, {
    message: `groupBy must be one of: ${COST_GROUPINGS.join(', ')}, or a comma-separated list of them such as apiKey,policy`,
  })
  groupBy?: string;

  @ApiPropertyOptional({ description: 'Only requests of this API key (its id): one team', format: 'uuid' })
  @Optional()
  @IsUUID('all', { message: 'apiKey must be the id of an API key (a UUID), given once' })
  apiKey?: string;

  @ApiPropertyOptional({ description: 'Only requests of this policy' })
  @Optional()
  @IsString({ message: 'policy must be the name of a policy, given once' })
  policy?: string;

  @ApiPropertyOptional({
    description: 'What the same tokens are priced at for the comparison; default METRICS_REFERENCE_MODEL (gpt-4.1)',
  })
  @Optional()
  @IsString({ message: 'referenceModel must be a catalog model id, given once' })
  referenceModel?: string;
}

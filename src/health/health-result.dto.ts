import { ApiProperty } from '@nestjs/swagger';

const INDICATORS_EXAMPLE = { database: { status: 'up' }, 'provider:simulated': { status: 'up' } };

/** Terminus's health body. Documented here because Terminus's own Swagger hook is not seen under jest. */
export class HealthResultDto {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down', 'degraded'], example: 'ok' })
  status: string;

  @ApiProperty({
    description: 'Indicators that are up',
    type: 'object',
    additionalProperties: true,
    example: INDICATORS_EXAMPLE,
  })
  info: Record<string, unknown>;

  @ApiProperty({
    description: 'Indicators that are down, each with the reason',
    type: 'object',
    additionalProperties: true,
    example: {},
  })
  error: Record<string, unknown>;

  @ApiProperty({
    description: 'Every indicator',
    type: 'object',
    additionalProperties: true,
    example: INDICATORS_EXAMPLE,
  })
  details: Record<string, unknown>;
}

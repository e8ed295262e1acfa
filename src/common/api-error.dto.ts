import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The one error body of the operator API (`/api/*`, `/health/*`). */
export class ApiErrorDto {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({ example: 'Bad Request' })
  error: string;

  @ApiPropertyOptional({
    example: 'flag_version_conflict',
    description:
      'Machine-readable cause (validation_failed, invalid_json, database_unavailable, flag_version_conflict...); absent only on errors of the framework itself, such as an unknown route',
  })
  code?: string;

  @ApiProperty({ example: 'rollout.treatment must not be greater than 100' })
  message: string;

  @ApiPropertyOptional({
    type: [String],
    description: 'Every problem found, when there is more than one',
    example: ['key must be a lower-case slug', 'rollout.treatment must not be greater than 100'],
  })
  details?: string[];

  @ApiProperty({
    example: '5b0c6b1e-6d5f-4a83-9d1f-2f7f7f1f3c11',
    description: 'Also in the x-switchyard-request-id header',
  })
  requestId: string;
}

/** OpenAI's error body, used on `/v1/*` so OpenAI clients understand our errors. */
export class OpenAiErrorDto {
  @ApiProperty({
    example: {
      message: 'The model `gpt-9` does not exist',
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
    },
  })
  error: { message: string; type: string; code: string | null; param: string | null };
}

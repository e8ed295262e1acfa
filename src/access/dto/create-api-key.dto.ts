import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { Optional } from '../../common/validation';
import { SCOPES, type Scope } from '../scopes';

export class CreateApiKeyDto {
  @ApiProperty({
    example: 'search-team',
    description: 'Who the key is for (a team or a service); shown in lists and in history actors',
  })
  @IsString({ message: 'name must be a string such as "search-team"' })
  @Matches(/^\S(.*\S)?$/, { message: 'name must not be empty or start or end with spaces' })
  @MaxLength(100, { message: 'name must be at most 100 characters' })
  name: string;

  @ApiProperty({
    enum: SCOPES,
    isArray: true,
    example: ['gateway'],
    description:
      'gateway: /v1/* (completions, models); read: GET on /api/* and /metrics; admin: everything (implies both)',
  })
  @IsArray({ message: `scopes must be a list of: ${SCOPES.join(', ')}` })
  @ArrayNotEmpty({ message: `scopes must name at least one of: ${SCOPES.join(', ')}` })
  @ArrayUnique({ message: 'scopes must not name a scope twice' })
  @IsIn(SCOPES, { each: true, message: `scopes must each be one of: ${SCOPES.join(', ')}` })
  scopes: Scope[];

  @ApiPropertyOptional({
    type: [String],
    example: ['chat'],
    description:
      'Only these policies (model route:<policy> or header x-switchyard-policy); concrete models are then refused. Omit for every policy and model',
  })
  @Optional()
  @IsArray({ message: 'policies must be a list of policy names' })
  @ArrayNotEmpty({ message: 'policies must name at least one policy; omit it to allow every policy' })
  @ArrayUnique({ message: 'policies must not name a policy twice' })
  @IsString({ each: true, message: 'policies must contain policy names' })
  policies?: string[];

  @ApiPropertyOptional({
    example: 600,
    description: 'Chat completions per minute, over every replica; omit for no limit',
  })
  @Optional()
  @IsInt({ message: 'requestsPerMinute must be an integer between 1 and 1000000' })
  @Min(1, { message: 'requestsPerMinute must be an integer between 1 and 1000000' })
  @Max(1_000_000, { message: 'requestsPerMinute must be an integer between 1 and 1000000' })
  requestsPerMinute?: number;

  @ApiPropertyOptional({
    example: 200000,
    description: 'Prompt + completion tokens per minute, over every replica; omit for no limit',
  })
  @Optional()
  @IsInt({ message: 'tokensPerMinute must be an integer between 1 and 2000000000' })
  @Min(1, { message: 'tokensPerMinute must be an integer between 1 and 2000000000' })
  @Max(2_000_000_000, { message: 'tokensPerMinute must be an integer between 1 and 2000000000' })
  tokensPerMinute?: number;
}

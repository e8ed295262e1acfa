import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { CONDITION_OPERATORS, type ConditionOperator } from '../flag.types';

export class FlagConditionDto {
  @ApiProperty({ example: 'country', description: 'Request attribute (a string) the condition looks at' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  attribute: string;

  @ApiProperty({ enum: CONDITION_OPERATORS, example: 'in' })
  @IsIn(CONDITION_OPERATORS)
  operator: ConditionOperator;

  @ApiProperty({
    type: [String],
    example: ['SG', 'MY'],
    description: 'Always a list; equals and starts_with match any of them',
  })
  @IsArray()
  @ArrayMinSize(1)
  @IsString({ each: true })
  values: string[];
}

export class FlagRuleServeDto {
  @ApiPropertyOptional({ example: 'treatment', description: 'Serve this variant (exactly one of variant or rollout)' })
  @IsOptional()
  @IsString()
  variant?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { treatment: 50 },
    description:
      'Or serve this rollout: variant -> percentage (0-100, two decimals); the rest gets the default variant',
  })
  @IsOptional()
  @IsObject()
  rollout?: Record<string, number>;
}

export class FlagRuleDto {
  @ApiProperty({ example: 'sg-enterprise', description: 'Lower-case slug; shows in evaluation reasons as rule:<name>' })
  @Matches(/^[a-z0-9]+(?:[-_][a-z0-9]+)*$/, { message: 'rules.name must be a lower-case slug' })
  @MaxLength(100)
  name: string;

  @ApiProperty({ type: [FlagConditionDto], description: 'All must hold (an empty list always matches)' })
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FlagConditionDto)
  conditions: FlagConditionDto[];

  @ApiProperty({ type: FlagRuleServeDto, example: { variant: 'treatment' } })
  @ValidateNested()
  @Type(() => FlagRuleServeDto)
  serve: FlagRuleServeDto;
}

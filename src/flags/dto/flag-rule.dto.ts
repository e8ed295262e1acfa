import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { Optional } from '../../common/validation';
import { CONDITION_OPERATORS, type ConditionOperator } from '../flag.types';

export class FlagConditionDto {
  @ApiProperty({ example: 'country', description: 'Request attribute (a string) the condition looks at' })
  @IsString({ message: 'attribute must be the name of a request attribute, e.g. country' })
  @IsNotEmpty({ message: 'attribute must not be empty' })
  @MaxLength(100, { message: 'attribute must be at most 100 characters' })
  attribute: string;

  @ApiProperty({ enum: CONDITION_OPERATORS, example: 'in' })
  @IsIn(CONDITION_OPERATORS)
  operator: ConditionOperator;

  @ApiProperty({
    type: [String],
    example: ['SG', 'MY'],
    description: 'Always a list; equals and starts_with match any of them',
  })
  @IsArray({ message: 'values must be a list of strings' })
  @ArrayMinSize(1, { message: 'values must hold at least one value' })
  @IsString({ each: true, message: 'values must be a list of strings' })
  @MaxLength(500, { each: true, message: 'values must each be at most 500 characters' })
  values: string[];
}

export class FlagRuleServeDto {
  @ApiPropertyOptional({ example: 'treatment', description: 'Serve this variant (exactly one of variant or rollout)' })
  @Optional()
  @IsString({ message: 'variant must be the name of a variant of the flag' })
  variant?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { treatment: 50 },
    description:
      'Or serve this rollout: variant -> percentage (0-100, two decimals); the rest gets the default variant',
  })
  @Optional()
  @IsObject({ message: 'rollout must be an object of variant -> percentage, e.g. { "treatment": 50 }' })
  rollout?: Record<string, number>;
}

export class FlagRuleDto {
  @ApiProperty({ example: 'sg-enterprise', description: 'Lower-case slug; shows in evaluation reasons as rule:<name>' })
  @Matches(/^[a-z0-9]+(?:[-_][a-z0-9]+)*$/, {
    message: 'name must be a lower-case slug (a-z, 0-9, single dashes or underscores), e.g. sg-enterprise',
  })
  @MaxLength(100, { message: 'name must be at most 100 characters' })
  name: string;

  // No minItems: FlagDto answers with this class too, and a flag stored before the rule may hold [].
  @ApiProperty({
    type: [FlagConditionDto],
    description:
      'All must hold; at least one (the rollout and defaultVariant are for everyone). A rule stored with none before that was refused keeps matching every request',
  })
  @IsArray({ message: 'conditions must be a list of { attribute, operator, values }' })
  // Checked here, on what is sent, not in validateFlag: flags stored with an empty rule before it
  // was refused keep serving, and a change that leaves their rules alone still goes through.
  @ArrayMinSize(1, {
    message:
      'conditions must have at least one condition (a rule without conditions would match every request; use the rollout or defaultVariant for everyone)',
  })
  @ValidateNested({ each: true })
  @Type(() => FlagConditionDto)
  conditions: FlagConditionDto[];

  @ApiProperty({ type: FlagRuleServeDto, example: { variant: 'treatment' } })
  @IsObject({ message: 'serve must be { "variant": <name> } or { "rollout": { <variant>: <percentage> } }' })
  @ValidateNested()
  @Type(() => FlagRuleServeDto)
  serve: FlagRuleServeDto;
}

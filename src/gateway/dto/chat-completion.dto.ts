import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ChatMessageDto {
  @ApiProperty({ enum: ['system', 'developer', 'user', 'assistant', 'tool'], example: 'user' })
  role: string;

  @ApiProperty({
    description: "Text, or a list of content parts as in OpenAI's API",
    example: 'Suggest three books for a train journey',
  })
  content: unknown;
}

/**
 * OpenAI's Chat Completions request, as far as the gateway reads it. Documentation only: the body is
 * not whitelisted, so every other OpenAI field (tools, response_format, ...) passes through.
 */
export class ChatCompletionRequestDto {
  @ApiProperty({
    description: 'A catalog model id, or route:<policy> to let a policy and its flag choose',
    example: 'route:recommendations',
  })
  model: string;

  @ApiProperty({ type: [ChatMessageDto] })
  messages: ChatMessageDto[];

  @ApiPropertyOptional({
    description: 'Server-sent events, passed through chunk by chunk, ending with data: [DONE]',
    example: false,
  })
  stream?: boolean;

  @ApiPropertyOptional({
    example: { include_usage: true },
    description: 'include_usage: the last chunk carries token usage',
  })
  stream_options?: { include_usage?: boolean };

  @ApiPropertyOptional({
    description: 'The end user; used for sticky bucketing when x-user-id is absent',
    example: 'user-4821',
  })
  user?: string;

  @ApiPropertyOptional({
    description:
      "String attributes for flag targeting (country, tier, cohort...). Not sent upstream. OpenAI's bounds: at most 16 keys of up to 64 characters, values of up to 512.",
    example: { country: 'SG', tier: 'enterprise' },
    maxProperties: 16,
    additionalProperties: { type: 'string', maxLength: 512 },
  })
  metadata?: Record<string, string>;

  @ApiPropertyOptional({ example: 0.7 })
  temperature?: number;

  @ApiPropertyOptional({ example: 256 })
  max_tokens?: number;
}

export class ChatCompletionResponseDto {
  @ApiProperty({ example: 'chatcmpl-abc123' }) id: string;
  @ApiProperty({ example: 'chat.completion' }) object: string;
  @ApiProperty({ example: 1767225600 }) created: number;
  @ApiProperty({ example: 'deepseek-v3.2' }) model: string;
  @ApiProperty({
    type: 'array',
    items: { type: 'object' },
    example: [{ index: 0, message: { role: 'assistant', content: '1. ...' }, finish_reason: 'stop' }],
  })
  choices: unknown[];
  @ApiProperty({ example: { prompt_tokens: 14, completion_tokens: 120, total_tokens: 134 } })
  usage: Record<string, number>;
}

export class ModelEntryDto {
  @ApiProperty({ example: 'route:chat' }) id: string;
  @ApiProperty({ example: 'model' }) object: string;
  @ApiProperty({ example: 0 }) created: number;
  @ApiProperty({ example: 'switchyard', description: 'The provider id, or switchyard for policy aliases' })
  owned_by: string;
}

export class ModelListDto {
  @ApiProperty({ example: 'list' }) object: string;
  @ApiProperty({ type: [ModelEntryDto] }) data: ModelEntryDto[];
}

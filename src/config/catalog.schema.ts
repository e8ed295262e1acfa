import { Type } from 'class-transformer';
import {
  ArrayUnique,
  IsArray,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';

const ENV_VAR_NAME = /^[A-Z_][A-Z0-9_]*$/;
const SLUG = /^[a-z0-9]+(?:[-.][a-z0-9]+)*$/;

export class CatalogProvider {
  @Matches(SLUG, { message: 'id must be a lower-case slug such as "openai" or "simulated"' })
  id: string;

  @IsUrl(
    { require_tld: false, require_protocol: true, protocols: ['http', 'https'] },
    { message: 'baseUrl must be an http(s) URL such as https://api.openai.com/v1' },
  )
  baseUrl: string;

  @Matches(ENV_VAR_NAME, { message: 'apiKeyEnv must name an environment variable, e.g. OPENAI_API_KEY' })
  apiKeyEnv: string;

  @IsOptional()
  @Matches(ENV_VAR_NAME, { message: 'backupApiKeyEnv must name an environment variable, e.g. OPENAI_API_KEY_BACKUP' })
  backupApiKeyEnv?: string;

  @IsInt({ message: 'timeoutMs must be an integer number of milliseconds (100-600000)' })
  @Min(100, { message: 'timeoutMs must be an integer number of milliseconds (100-600000)' })
  @Max(600000, { message: 'timeoutMs must be an integer number of milliseconds (100-600000)' })
  timeoutMs = 30000;
}

export class ModelPricing {
  // At most 6 decimals, so costs are exact in numeric(20,12): tokens x price / 1e6 needs no rounding.
  @IsNumber(
    { maxDecimalPlaces: 6 },
    { message: 'inputPer1M must be a price in USD per million input tokens, with at most 6 decimals' },
  )
  @Min(0, { message: 'inputPer1M must not be negative' })
  inputPer1M: number;

  @IsNumber(
    { maxDecimalPlaces: 6 },
    { message: 'outputPer1M must be a price in USD per million output tokens, with at most 6 decimals' },
  )
  @Min(0, { message: 'outputPer1M must not be negative' })
  outputPer1M: number;
}

export class CatalogModel {
  @Matches(SLUG, { message: 'id must be a lower-case model id such as "gpt-4.1"' })
  id: string;

  @IsString({ message: 'provider must be the id of a provider in this catalog' })
  provider: string;

  @IsString({ message: 'upstreamModel must be the model name the provider expects' })
  upstreamModel: string;

  @IsInt({ message: 'contextWindow must be a positive integer number of tokens' })
  @Min(1, { message: 'contextWindow must be a positive integer number of tokens' })
  contextWindow: number;

  /**
   * The most tokens one answer can have. A spend budget reserves it for requests without
   * `max_tokens`; unset, the context window is the bound.
   */
  @IsOptional()
  @IsInt({ message: 'maxOutputTokens must be a positive integer number of tokens' })
  @Min(1, { message: 'maxOutputTokens must be a positive integer number of tokens' })
  maxOutputTokens?: number;

  /** Orders models by capability (higher is stronger); policies that must not downgrade use it. */
  @IsInt({ message: 'tier must be an integer from 1 (weakest) upwards' })
  @Min(1, { message: 'tier must be an integer from 1 (weakest) upwards' })
  tier: number;

  @ValidateNested()
  @Type(() => ModelPricing)
  @IsObject({ message: 'pricing must be an object { inputPer1M, outputPer1M }' })
  pricing: ModelPricing;
}

export class CatalogPolicy {
  @Matches(SLUG, { message: 'name must be a lower-case slug such as "chat"' })
  name: string;

  @Matches(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, { message: 'flag must be a lower-case flag key such as "chat-model"' })
  flag: string;

  @IsString({ message: 'defaultModel must be the id of a model in this catalog' })
  defaultModel: string;

  @IsArray({ message: 'fallback must be a list of model ids (may be empty)' })
  @IsString({ each: true, message: 'fallback must contain model ids' })
  @ArrayUnique({ message: 'fallback must not name a model twice' })
  fallback: string[] = [];
}

export class CatalogSimulator {
  @IsInt({ message: 'port must be an integer between 1 and 65535' })
  @Min(1, { message: 'port must be an integer between 1 and 65535' })
  @Max(65535, { message: 'port must be an integer between 1 and 65535' })
  port: number;

  /** The provider entry whose models the simulator serves and whose keys it accepts. */
  @IsString({ message: 'provider must be the id of the provider the simulator stands in for' })
  provider: string;

  @IsInt({ message: 'seed must be an integer' })
  seed = 42;

  /** Per-model simulator profiles (latency, error and rate-limit rates...); checked by the simulator. */
  @IsOptional()
  @IsObject({ message: 'profiles must map model ids to simulator profiles' })
  profiles: Record<string, Record<string, unknown>> = {};
}

export class CatalogDocument {
  @IsArray({ message: 'providers must be a list' })
  @ValidateNested({ each: true })
  @Type(() => CatalogProvider)
  providers: CatalogProvider[];

  @IsArray({ message: 'models must be a list' })
  @ValidateNested({ each: true })
  @Type(() => CatalogModel)
  models: CatalogModel[];

  @IsArray({ message: 'policies must be a list' })
  @ValidateNested({ each: true })
  @Type(() => CatalogPolicy)
  policies: CatalogPolicy[];

  @IsOptional()
  @ValidateNested()
  @Type(() => CatalogSimulator)
  simulator?: CatalogSimulator;
}

import { Type } from 'class-transformer';
import {
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsNumberWithDecimals } from '../common/range-validators';

/** Which fallbacks a policy allows: any model of its chain, only models of the chosen one's tier or above, none. */
export const FALLBACK_TIERS = ['any', 'same_or_higher', 'none'] as const;
export type FallbackTiers = (typeof FALLBACK_TIERS)[number];

/**
 * Catalogs written before policies named their strategy: these three policy names keep the
 * strategy (and so the budgets) they always had.
 */
export const LEGACY_POLICY_STRATEGIES: Readonly<Record<string, string>> = {
  recommendations: 'cost_first',
  chat: 'latency_first',
  fraud: 'quality_first',
};

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
  @IsNumberWithDecimals(6, 'inputPer1M must be a price in USD per million input tokens, with at most 6 decimals')
  @Min(0, { message: 'inputPer1M must not be negative' })
  inputPer1M: number;

  @IsNumberWithDecimals(6, 'outputPer1M must be a price in USD per million output tokens, with at most 6 decimals')
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

const TIMEOUT_MESSAGE = (field: string) => `${field} must be an integer number of milliseconds (100-600000)`;

/**
 * How patient a policy is. Every field overrides its strategy's default; left out, the default
 * applies. The per-attempt and first-token budgets never exceed the total (nor first-token the
 * per-attempt one): a default above an overridden total is cut to it.
 */
export class PolicyBudgets {
  /** The whole request, retries and fallbacks included. */
  @IsOptional()
  @IsInt({ message: TIMEOUT_MESSAGE('totalTimeoutMs') })
  @Min(100, { message: TIMEOUT_MESSAGE('totalTimeoutMs') })
  @Max(600000, { message: TIMEOUT_MESSAGE('totalTimeoutMs') })
  totalTimeoutMs?: number;

  /** One upstream call. */
  @IsOptional()
  @IsInt({ message: TIMEOUT_MESSAGE('attemptTimeoutMs') })
  @Min(100, { message: TIMEOUT_MESSAGE('attemptTimeoutMs') })
  @Max(600000, { message: TIMEOUT_MESSAGE('attemptTimeoutMs') })
  attemptTimeoutMs?: number;

  /** Streams: time to the first token before the attempt counts as failed. */
  @IsOptional()
  @IsInt({ message: TIMEOUT_MESSAGE('firstTokenTimeoutMs') })
  @Min(100, { message: TIMEOUT_MESSAGE('firstTokenTimeoutMs') })
  @Max(600000, { message: TIMEOUT_MESSAGE('firstTokenTimeoutMs') })
  firstTokenTimeoutMs?: number;

  /** Retries on one model after its first attempt (408, 409, 429, 5xx, network errors, timeouts). */
  @IsOptional()
  @IsInt({ message: 'maxRetriesPerModel must be an integer from 0 to 10' })
  @Min(0, { message: 'maxRetriesPerModel must be an integer from 0 to 10' })
  @Max(10, { message: 'maxRetriesPerModel must be an integer from 0 to 10' })
  maxRetriesPerModel?: number;

  /** Which fallback models may answer: any, only as strong as the chosen one (tier), or none. */
  @IsOptional()
  @IsIn(FALLBACK_TIERS, { message: `fallbackTiers must be one of: ${FALLBACK_TIERS.join(', ')}` })
  fallbackTiers?: FallbackTiers;
}

export class CatalogPolicy {
  @Matches(SLUG, { message: 'name must be a lower-case slug such as "chat"' })
  name: string;

  /**
   * The strategy class (src/routing/strategies) that orders the fallbacks and sets the default
   * budgets. May be left out only by the three original policies, recommendations, chat and fraud
   * (see LEGACY_POLICY_STRATEGIES): loadCatalog fills it in for them, so a loaded policy always has it.
   */
  @IsOptional()
  @Matches(/^[a-z][a-z0-9_]*$/, { message: 'strategy must be a strategy name such as "cost_first"' })
  strategy: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => PolicyBudgets)
  @IsObject({ message: 'budgets must be an object such as { "attemptTimeoutMs": 5000 }' })
  budgets?: PolicyBudgets;

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

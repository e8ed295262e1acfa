import { registerAs } from '@nestjs/config';
import { IsIn, IsOptional, IsString, MinLength } from 'class-validator';
import { IntegerBetween, readEnv, validateConfig } from './validate-config';

class MetricsEnvironment {
  @IsIn(['true', 'false'], { message: 'METRICS_ENABLED must be true or false' })
  METRICS_ENABLED = 'true';

  @IntegerBetween('METRICS_FLUSH_INTERVAL_MS', 10, 60_000)
  METRICS_FLUSH_INTERVAL_MS = 50;

  @IntegerBetween('METRICS_BATCH_SIZE', 1, 50_000)
  METRICS_BATCH_SIZE = 2_000;

  @IntegerBetween('METRICS_QUEUE_LIMIT', 1, 10_000_000)
  METRICS_QUEUE_LIMIT = 200_000;

  @IntegerBetween('METRICS_RETENTION_DAYS', 1, 3_650)
  METRICS_RETENTION_DAYS = 30;

  @IntegerBetween('METRICS_PARTITIONS_AHEAD_DAYS', 1, 60)
  METRICS_PARTITIONS_AHEAD_DAYS = 3;

  @IsString()
  @MinLength(1, { message: 'METRICS_REFERENCE_MODEL must name a catalog model' })
  METRICS_REFERENCE_MODEL = 'gpt-4.1';

  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_USER_KEY_SECRET must be at least 16 characters long' })
  METRICS_USER_KEY_SECRET?: string;
}

export interface MetricsConfig {
  /** Off only to measure what metrics cost (bench); canaries and cost reports need the rows. */
  enabled: boolean;
  flushIntervalMs: number;
  batchSize: number;
  /** Rows held in memory while the database is slow or down; beyond it rows are dropped and counted. */
  queueLimit: number;
  retentionDays: number;
  partitionsAheadDays: number;
  /** The model the cost report compares spend with ("what the same tokens would have cost on ..."). */
  referenceModel: string;
  /**
   * Key of the HMAC that turns a request's user id into the stored user_key (the raw id is never
   * stored). Unset: a built-in key, which does not stop someone with the code from testing guesses.
   */
  userKeySecret: string | undefined;
}

export const METRICS_ENV = Object.keys(new MetricsEnvironment());

export const metricsConfig = registerAs('metrics', (): MetricsConfig => {
  const env = validateConfig(MetricsEnvironment, readEnv(METRICS_ENV), 'environment');
  return {
    enabled: env.METRICS_ENABLED === 'true',
    flushIntervalMs: env.METRICS_FLUSH_INTERVAL_MS,
    batchSize: env.METRICS_BATCH_SIZE,
    queueLimit: env.METRICS_QUEUE_LIMIT,
    retentionDays: env.METRICS_RETENTION_DAYS,
    partitionsAheadDays: env.METRICS_PARTITIONS_AHEAD_DAYS,
    referenceModel: env.METRICS_REFERENCE_MODEL,
    userKeySecret: env.METRICS_USER_KEY_SECRET,
  };
});

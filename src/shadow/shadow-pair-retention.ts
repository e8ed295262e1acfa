import { Injectable } from '@nestjs/common';
import { RetentionJobFor } from '../database/retention';

/**
 * Shadow pairs, with the disagreeing answers they hold (user data), are kept as long as the request
 * rows they pair (METRICS_RETENTION_DAYS), not forever. Hourly, one replica at a time.
 */
@Injectable()
export class ShadowPairRetention extends RetentionJobFor({
  table: 'shadow_pairs',
  keyColumn: 'canary_id',
  timeColumn: 'at',
  rows: 'shadow pairs',
  job: 'ShadowPairRetention',
}) {}

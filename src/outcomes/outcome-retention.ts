import { Injectable } from '@nestjs/common';
import { RetentionJobFor } from '../database/retention';

/**
 * Reported outcome events are kept as long as the request rows they are about
 * (METRICS_RETENTION_DAYS, by when the outcome occurred): an older event has no exposure left to be
 * attributed to. Hourly, one replica at a time.
 */
@Injectable()
export class OutcomeRetention extends RetentionJobFor({
  table: 'outcome_events',
  keyColumn: 'metric_key',
  timeColumn: 'occurred_at',
  rows: 'outcome events',
  job: 'OutcomeRetention',
}) {}

import { DomainError } from '../common/domain-error';
import { excerpt } from '../common/excerpt';

export class MetricsTimeOutOfRange extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'time_out_of_range';

  constructor(param: 'from' | 'to', text: string) {
    super(`${param} (${text}) must be a time between 1970-01-01 and 9999-12-31, e.g. 2026-11-24T10:00:00Z`, { param });
  }
}

/**
 * A window whose `from` is after its `to`: reversed, surely a mistake. (`from == to`, a window that
 * has just begun, is answered with zero counts.) The code stays `empty_window`, as clients know it.
 */
export class EmptyMetricsWindow extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'empty_window';

  constructor(from: Date, to: Date, toIsNow = false) {
    super(
      toIsNow
        ? `from (${from.toISOString()}) must not be after now (${to.toISOString()}), where to defaults to; give an earlier from, or a to after it`
        : `from (${from.toISOString()}) must not be after to (${to.toISOString()}): swap them if they are reversed`,
      { param: 'from' },
    );
  }
}

/** A timeseries query that would return more points than any chart needs (and cost a scan to build them). */
export class TooManyBuckets extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'too_many_buckets';

  constructor(bucket: string, buckets: number, max: number) {
    super(
      `bucket ${bucket} cuts this window into ${Math.ceil(buckets)} buckets; use a wider bucket or a shorter window (at most ${max})`,
      { param: 'bucket' },
    );
  }
}

export class UnknownReferenceModel extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'unknown_reference_model';

  constructor(model: string, known: string[]) {
    super(`referenceModel "${excerpt(model)}" is not a catalog model (one of: ${known.join(', ')})`, {
      param: 'referenceModel',
    });
  }
}

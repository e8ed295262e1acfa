import { DomainError } from '../common/domain-error';

export class AlertNotFound extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'alert_not_found';

  constructor(id: string) {
    super(`alert ${id} does not exist`, { param: 'id' });
  }
}

/** A page cursor that names no alert: a typo, or an id from another installation. */
export class UnknownAlertCursor extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'unknown_cursor';

  constructor(before: string) {
    super(`before: no alert has id ${before}`, { param: 'before' });
  }
}

import { DomainError } from '../common/domain-error';

/** The catalog as read now cannot be put in force; `details` names every problem. The catalog in force stays. */
export class CatalogReloadRefused extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'catalog_invalid';

  constructor(source: string, problems: string[]) {
    super(
      `the catalog (${source}) was refused and the one in force stays: ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.join('; ')}`,
      { details: problems },
    );
  }
}

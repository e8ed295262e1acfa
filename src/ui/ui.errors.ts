import { DomainError } from '../common/domain-error';

/**
 * UI_DIR holds no built control room: `npm run build` writes it (npm start does that first). The
 * folder is in the start-up log, not here: /ui answers without a key, and the server's paths are
 * nobody else's business.
 */
export class UiNotBuilt extends DomainError {
  readonly kind = 'unavailable';
  readonly code = 'ui_not_built';

  constructor() {
    super(
      'the control room is not built (UI_DIR has no index.html); run npm run build and restart (npm start does both)',
    );
  }
}

export class UiAssetNotFound extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'ui_asset_not_found';

  constructor(name: string) {
    super(`the control room has no file ${JSON.stringify(name)}`);
  }
}

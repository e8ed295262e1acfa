import { DomainError } from '../common/domain-error';

/** UI_DIR holds no built control room: `npm run build` writes it (npm start does that first). */
export class UiNotBuilt extends DomainError {
  readonly kind = 'unavailable';
  readonly code = 'ui_not_built';

  constructor(dir: string) {
    super(`the control room is not built: ${dir}/index.html is missing; run npm run build (npm start does)`);
  }
}

export class UiAssetNotFound extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'ui_asset_not_found';

  constructor(name: string) {
    super(`the control room has no file ${JSON.stringify(name)}`);
  }
}

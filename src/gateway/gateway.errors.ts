import { DomainError } from '../common/domain-error';
import { MAX_JSON_DEPTH } from '../common/json-depth';

export class InvalidJson extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'invalid_json';

  constructor() {
    super('The request body is not valid JSON.');
  }
}

export class RequestTooLarge extends DomainError {
  readonly kind = 'too_large';
  readonly code = 'request_too_large';

  constructor(limit: string) {
    super(`The request body is larger than ${limit} (REQUEST_BODY_LIMIT).`);
  }
}

export class RequestTooDeep extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'request_too_deep';

  constructor(path: string) {
    super(
      `The request body nests deeper than ${MAX_JSON_DEPTH} levels (at ${path}); no chat request needs that many.`,
      {
        param: path === '(root)' ? null : path,
      },
    );
  }
}

/**
 * The body is not a valid OpenAI chat completion request. `code` follows OpenAI's own codes for
 * such refusals, `param` names the field (`messages[1].role`).
 */
export class InvalidChatRequest extends DomainError {
  readonly kind = 'invalid';

  constructor(
    message: string,
    param: string | null,
    readonly code: 'invalid_type' | 'invalid_value' | 'missing_required_parameter' | 'empty_array' = 'invalid_value',
  ) {
    super(message, { param });
  }
}

/** A key limited to some policies asked for another policy, or for a concrete model. */
export class PolicyNotAllowed extends DomainError {
  readonly kind = 'forbidden';
  readonly code = 'policy_not_allowed';

  constructor(message: string, concreteModel: boolean) {
    super(message, { param: concreteModel ? 'model' : null });
  }
}

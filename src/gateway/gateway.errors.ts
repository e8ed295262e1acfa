import { DomainError } from '../common/domain-error';

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

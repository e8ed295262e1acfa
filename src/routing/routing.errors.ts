import { DomainError } from '../common/domain-error';
import { excerpt } from '../common/excerpt';
import type { Route } from './policy-book';

/** `model` names neither a catalog model nor `route:<policy>`. */
export class UnknownModel extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'model_not_found';

  constructor(model: string) {
    super(
      `The model \`${excerpt(model)}\` does not exist. Use a catalog model id or route:<policy> (GET /v1/models lists both).`,
      { param: 'model' },
    );
  }
}

/** A model or alias that exists, asked for by a key limited to policies that do not include it. */
export class ModelNotAvailable extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'model_not_found';

  constructor(model: string, usable: string[]) {
    super(
      `The model \`${excerpt(model)}\` is not available to this API key; it may use ${usable.join(', ')} (GET /v1/models lists them).`,
      { param: 'model' },
    );
  }
}

/** `route:<policy>` or x-switchyard-policy names a policy the catalog does not have. */
export class UnknownPolicy extends DomainError {
  readonly kind = 'not_found';
  readonly code = 'policy_not_found';

  constructor(policy: string, known: string[], fromHeader: boolean) {
    super(`The policy \`${excerpt(policy)}\` does not exist. Known policies: ${known.join(', ')}.`, {
      param: fromHeader ? null : 'model',
    });
  }
}

/** Every candidate's circuit is open: failing loudly beats guessing. */
export class NoHealthyModel extends DomainError {
  readonly kind = 'upstream_failed';
  readonly code = 'no_healthy_model';

  /**
   * @param route what the request was routed to, every candidate kept: the outage counts under its
   *   policy, flag and variant (a canary's arm), not under no route at all.
   * @param reopensInMs until the first circuit lets a probe through: the answer's Retry-After, so
   *   clients (the OpenAI SDKs retry 5xx on their own) wait for it rather than retry into this refusal.
   */
  constructor(
    readonly route: Route,
    reopensInMs: number,
  ) {
    const models = route.plan.candidates.map((model) => model.id);
    super(
      `No healthy model can serve this request: ${models.join(', ')} ${models.length > 1 ? 'are' : 'is'} failing (circuit open).`,
      { retryAfterSeconds: reopensInMs / 1000 },
    );
  }
}

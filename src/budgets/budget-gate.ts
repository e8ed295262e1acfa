import { Injectable } from '@nestjs/common';
import { CatalogService } from '../catalog/catalog.service';
import { Clock } from '../common/clock';
import type { CatalogModel } from '../config/catalog.schema';
import { FlagsService } from '../flags/flags.service';
import type { PromptSize } from '../providers/prompt-size';
import type { Route } from '../routing/routing.service';
import { type ApplicableBudget, BudgetDirectory } from './budget-directory';
import { BudgetUnavailable } from './budget.errors';
import { BudgetLeases, type ReserveOutcome } from './budget-leases';
import { BudgetNotices } from './budget-notices';
import { ACTION_STRICTNESS, type BudgetAction } from './budget.types';
import { budgetName, exhaustedError, SpendTicket, type TicketEntry } from './spend-ticket';
import { worstCasePico } from './worst-case';

export interface SpendRequest {
  keyId: string;
  route: Route;
  body: Record<string, unknown>;
  prompt: PromptSize;
}

/** The route to serve (changed by a downgrade or shadow_only) and the reservations to settle; no ticket: no budget applies. */
export interface SpendDecision {
  route: Route;
  ticket: SpendTicket | undefined;
}

interface Attempt {
  entries: TicketEntry[];
  outcomes: ReserveOutcome[];
}

/**
 * The pipeline's budget stage: finds the request's budgets (its key's, its policy's, its canary
 * arm's), reserves the chosen model's worst case on each from this replica's leases, and when one
 * is used up applies the strictest action among those that are: reject (429 insufficient_quota),
 * downgrade (the route's cheapest healthy model, the budget charged past its limit), or shadow_only
 * (a canary's treatment request goes to the control). In the common case it reads memory only.
 */
@Injectable()
export class BudgetGate {
  constructor(
    private readonly directory: BudgetDirectory,
    private readonly leases: BudgetLeases,
    private readonly notices: BudgetNotices,
    private readonly flags: FlagsService,
    private readonly catalog: CatalogService,
    private readonly clock: Clock,
  ) {}

  /** Throws BudgetExhausted (429) or BudgetUnavailable (503) when the request may not spend. */
  admit(request: SpendRequest): SpendDecision | Promise<SpendDecision> {
    const { route } = request;
    const applicable = this.directory.applicable(request.keyId, route.policy, route.flag, route.variant);
    if (applicable.length === 0) return { route, ticket: undefined };
    const model = route.plan.candidates[0];
    const attempt = this.reserve(applicable, model, request);
    if (!(attempt instanceof Promise)) {
      if (attempt.outcomes.every((outcome) => outcome === 'ok'))
        return { route, ticket: this.ticket(attempt, model, request) };
      return this.decide(attempt, model, request);
    }
    return attempt.then((resolved) => this.decide(resolved, model, request));
  }

  private async decide(attempt: Attempt, model: CatalogModel, request: SpendRequest): Promise<SpendDecision> {
    const { entries, outcomes } = attempt;
    if (outcomes.every((outcome) => outcome === 'ok'))
      return { route: request.route, ticket: this.ticket(attempt, model, request) };
    this.releaseHeld(attempt);
    const nowMs = this.clock.nowMs();
    const exhausted = entries.filter((_, index) => outcomes[index] === 'exhausted');
    if (exhausted.length === 0) {
      const entry = entries[outcomes.indexOf('unavailable')];
      throw new BudgetUnavailable(entry.budget.id, budgetName(entry.budget));
    }
    const strictest = exhausted.reduce((a, b) =>
      ACTION_STRICTNESS[b.budget.onExhausted] > ACTION_STRICTNESS[a.budget.onExhausted] ? b : a,
    );
    const action = strictest.budget.onExhausted;
    for (const entry of exhausted) {
      this.notices.exhausted(entry.budget, entry.ledger, entry.budget.onExhausted, budgetName(entry.budget), nowMs);
    }
    const refusal = (why = '') => exhaustedError(strictest.budget, strictest.ledger, strictest.worstPico, nowMs, why);
    const route = this.rerouted(request.route, action, strictest, model, request);
    if (typeof route === 'string') throw refusal(route);
    // The request goes on elsewhere: it still needs room under every budget that is not used up.
    const remaining = this.directory
      .applicable(request.keyId, route.policy, route.flag, route.variant)
      .filter((applicable) => !exhausted.some((entry) => entry.budget.id === applicable.budget.id));
    const next = await this.reserve(remaining, route.plan.candidates[0], request);
    const refused = next.outcomes.findIndex((outcome) => outcome !== 'ok');
    if (refused !== -1) {
      this.releaseHeld(next);
      const entry = next.entries[refused];
      if (next.outcomes[refused] === 'exhausted') {
        this.notices.exhausted(entry.budget, entry.ledger, entry.budget.onExhausted, budgetName(entry.budget), nowMs);
        throw exhaustedError(entry.budget, entry.ledger, entry.worstPico, nowMs);
      }
      throw new BudgetUnavailable(entry.budget.id, budgetName(entry.budget));
    }
    // A downgraded request is charged to its used-up budgets as well: the money is spent all the same.
    const overage =
      action === 'downgrade'
        ? exhausted
            .filter((entry) => entry.budget.onExhausted === 'downgrade')
            .map((entry) => ({ ...entry, reservedPico: 0n, overage: true }))
        : [];
    const served = route.plan.candidates[0];
    const worst = worstCasePico(served, request.body, request.prompt.upperBound);
    for (const entry of overage) entry.worstPico = worst;
    const ticket = new SpendTicket(
      this.leases,
      () => this.clock.nowMs(),
      [...next.entries, ...overage],
      served,
      request.body,
      request.prompt.upperBound,
      { budgetId: strictest.budget.id, action },
    );
    return { route, ticket };
  }

  /**
   * Where a request goes when `action` applies: a downgrade to the route's cheapest candidate (its
   * healthy models, within the policy's own rules), shadow_only to the canary's control. A string
   * says why it cannot go anywhere (it is refused).
   */
  private rerouted(
    route: Route,
    action: BudgetAction,
    strictest: TicketEntry & { arm?: ApplicableBudget['arm'] },
    model: CatalogModel,
    request: SpendRequest,
  ): Route | string {
    if (action === 'reject') return '';
    if (action === 'downgrade') {
      if (route.policy === null)
        return ' Its action is downgrade, which needs a policy to choose a cheaper model: send model route:<policy>.';
      const prompt = request.prompt.upperBound;
      let cheapest = model;
      let cheapestCost = worstCasePico(model, request.body, prompt);
      for (const candidate of route.plan.candidates) {
        const cost = worstCasePico(candidate, request.body, prompt);
        if (cost < cheapestCost) [cheapest, cheapestCost] = [candidate, cost];
      }
      return { ...route, plan: { ...route.plan, candidates: [cheapest] } };
    }
    const arm = strictest.arm;
    const controlId = arm && this.flags.variantModelCached(arm.flagKey, arm.controlVariant);
    const control = controlId === undefined ? undefined : this.catalog.findModel(controlId);
    if (!arm || !control) return ` The canary's control model is unknown, so the request cannot go to it.`;
    const fallbacks = route.plan.candidates.filter(
      (candidate) => candidate.id !== control.id && candidate.id !== model.id,
    );
    return {
      ...route,
      variant: arm.controlVariant,
      reason: 'budget_shadow_only',
      chosen: control,
      plan: { ...route.plan, candidates: [control, ...fallbacks] },
    };
  }

  /** Reserves `model`'s worst case under each budget: at once from memory, or after the leases that were short are topped up. */
  private reserve(
    applicable: readonly ApplicableBudget[],
    model: CatalogModel,
    request: SpendRequest,
  ): Attempt | Promise<Attempt> {
    const nowMs = this.clock.nowMs();
    const worst = worstCasePico(model, request.body, request.prompt.upperBound);
    const entries: Array<TicketEntry & { arm?: ApplicableBudget['arm'] }> = [];
    const pending: Array<ReserveOutcome | Promise<ReserveOutcome>> = [];
    let waits = false;
    for (const { budget, arm } of applicable) {
      const ledger = this.leases.ledgerOf(budget, nowMs);
      entries.push({ budget, ledger, reservedPico: worst, worstPico: worst, overage: false, arm });
      const outcome = this.leases.reserve(ledger, worst, nowMs);
      if (outcome instanceof Promise) waits = true;
      pending.push(outcome);
    }
    if (!waits) return { entries, outcomes: pending as ReserveOutcome[] };
    return Promise.all(pending).then(async (outcomes) => {
      // A period that ended (or a budget deleted) while the request waited: once more, on the new ledger.
      for (let index = 0; index < outcomes.length; index++) {
        if (outcomes[index] !== 'closed') continue;
        const budget = this.directory.find(entries[index].budget.id);
        if (!budget) {
          outcomes[index] = 'ok';
          entries[index].reservedPico = 0n;
          continue;
        }
        entries[index].ledger = this.leases.ledgerOf(budget, this.clock.nowMs());
        const retried = await this.leases.reserve(entries[index].ledger, worst, this.clock.nowMs());
        outcomes[index] = retried === 'closed' ? 'unavailable' : retried;
      }
      return { entries, outcomes };
    });
  }

  private releaseHeld({ entries, outcomes }: Attempt): void {
    entries.forEach((entry, index) => {
      if (outcomes[index] === 'ok') entry.ledger.release(entry.reservedPico);
    });
  }

  private ticket(attempt: Attempt, model: CatalogModel, request: SpendRequest): SpendTicket {
    return new SpendTicket(
      this.leases,
      () => this.clock.nowMs(),
      attempt.entries,
      model,
      request.body,
      request.prompt.upperBound,
      undefined,
    );
  }
}

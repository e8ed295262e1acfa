import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import type { CatalogModel } from '../config/catalog.schema';
import type { PromptSize } from '../providers/prompt-size';
import { type Route, RoutingService } from '../routing/routing.service';
import { type ApplicableBudget, BudgetDirectory } from './budget-directory';
import { budgetName, BudgetUnavailable } from './budget.errors';
import { BudgetLeases, type ReserveOutcome } from './budget-leases';
import { BudgetNotices } from './budget-notices';
import { ACTION_STRICTNESS, type BudgetAction, type SpendMark } from './budget.types';
import { exhaustedError, SpendTicket, type TicketEntry } from './spend-ticket';
import { worstCasePico } from './worst-case';

/** What a route sends upstream for the request (variant params and system prompt applied), and its prompt's size. */
export interface PreparedRequest {
  body: Record<string, unknown>;
  prompt: PromptSize;
}

export interface SpendRequest {
  keyId: string;
  route: Route;
  /** The upstream body of the request on a route: worst cases are priced on what the upstream gets. */
  prepare: (route: Route) => PreparedRequest;
}

/**
 * The route to serve (changed by a downgrade or shadow_only), what it sends upstream, and the
 * reservations to settle; no ticket: no budget applies.
 */
export interface SpendDecision {
  route: Route;
  prepared: PreparedRequest;
  ticket: SpendTicket | undefined;
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
    private readonly routing: RoutingService,
    private readonly clock: Clock,
  ) {}

  /** Throws BudgetExhausted (429) or BudgetUnavailable (503) when the request may not spend. */
  admit(request: SpendRequest): SpendDecision | Promise<SpendDecision> {
    const { route } = request;
    const prepared = request.prepare(route);
    const applicable = this.directory.applicable(request.keyId, route.policy, route.flag, route.variant);
    if (applicable.length === 0) return { route, prepared, ticket: undefined };
    const model = route.plan.candidates[0];
    const attempt = this.reserve(applicable, model, prepared);
    if (attempt instanceof Promise) return attempt.then((resolved) => this.decide(resolved, model, request, prepared));
    if (!allReserved(attempt)) return this.decide(attempt, model, request, prepared);
    return { route, prepared, ticket: this.ticket(attempt.entries, model, prepared, undefined) };
  }

  private async decide(
    attempt: Attempt,
    model: CatalogModel,
    request: SpendRequest,
    prepared: PreparedRequest,
  ): Promise<SpendDecision> {
    if (allReserved(attempt)) {
      return { route: request.route, prepared, ticket: this.ticket(attempt.entries, model, prepared, undefined) };
    }
    const { entries, outcomes } = attempt;
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
      this.notices.exhausted(entry, nowMs);
    }
    const route = this.rerouted(request.route, action, strictest, model, prepared);
    if (typeof route === 'string')
      throw exhaustedError(strictest.budget, strictest.ledger, strictest.worstPico, nowMs, route);
    // The request goes on elsewhere: it still needs room under every budget that is not used up.
    const next = request.prepare(route);
    const served = route.plan.candidates[0];
    const remaining = this.directory
      .applicable(request.keyId, route.policy, route.flag, route.variant)
      .filter((applicable) => !exhausted.some((entry) => entry.budget.id === applicable.budget.id));
    const retried = await this.reserve(remaining, served, next);
    const refused = retried.outcomes.findIndex((outcome) => outcome !== 'ok');
    if (refused !== -1) {
      this.releaseHeld(retried);
      const entry = retried.entries[refused];
      if (retried.outcomes[refused] !== 'exhausted')
        throw new BudgetUnavailable(entry.budget.id, budgetName(entry.budget));
      this.notices.exhausted(entry, nowMs);
      throw exhaustedError(entry.budget, entry.ledger, entry.worstPico, nowMs);
    }
    // A downgraded request is charged to its used-up budgets as well: the money is spent all the same.
    const worst = worstCasePico(served, next.body, next.prompt.upperBound);
    const overage =
      action === 'downgrade'
        ? exhausted
            .filter((entry) => entry.budget.onExhausted === 'downgrade')
            .map((entry) => ({ ...entry, reservedPico: 0n, worstPico: worst, overage: true }))
        : [];
    const mark = { budgetId: strictest.budget.id, action };
    return { route, prepared: next, ticket: this.ticket([...retried.entries, ...overage], served, next, mark) };
  }

  /**
   * Where a request goes when `action` applies: a downgrade to the route's cheapest candidate (its
   * healthy models, within the policy's own rules), shadow_only to the canary's control variant (its
   * model and settings, as routing would serve it). A string says why it cannot go anywhere.
   */
  private rerouted(
    route: Route,
    action: BudgetAction,
    strictest: ReservedEntry,
    model: CatalogModel,
    prepared: PreparedRequest,
  ): Route | string {
    if (action === 'reject') return '';
    if (action === 'downgrade') {
      if (route.policy === null)
        return ' Its action is downgrade, which needs a policy to choose a cheaper model: send model route:<policy>.';
      const prompt = prepared.prompt.upperBound;
      let cheapest = model;
      let cheapestCost = worstCasePico(model, prepared.body, prompt);
      for (const candidate of route.plan.candidates) {
        const cost = worstCasePico(candidate, prepared.body, prompt);
        if (cost < cheapestCost) [cheapest, cheapestCost] = [candidate, cost];
      }
      return { ...route, plan: { ...route.plan, candidates: [cheapest] } };
    }
    const arm = strictest.arm;
    const control = arm && this.routing.withVariant(route, arm.controlVariant, 'budget_shadow_only');
    return control ?? " The canary's control variant cannot serve this request, so it cannot go there.";
  }

  /** Reserves `model`'s worst case under each budget: at once from memory, or after the leases that were short are topped up. */
  private reserve(
    applicable: readonly ApplicableBudget[],
    model: CatalogModel,
    prepared: PreparedRequest,
  ): Attempt | Promise<Attempt> {
    const nowMs = this.clock.nowMs();
    const worst = worstCasePico(model, prepared.body, prepared.prompt.upperBound);
    const entries: ReservedEntry[] = [];
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

  private ticket(
    entries: TicketEntry[],
    model: CatalogModel,
    prepared: PreparedRequest,
    mark: SpendMark | undefined,
  ): SpendTicket {
    return new SpendTicket(
      this.leases,
      () => this.clock.nowMs(),
      entries,
      model,
      prepared.body,
      prepared.prompt.upperBound,
      mark,
      (refused, atMs) => this.notices.exhausted(refused, atMs),
    );
  }
}

type ReservedEntry = TicketEntry & { arm?: ApplicableBudget['arm'] };

interface Attempt {
  entries: ReservedEntry[];
  outcomes: ReserveOutcome[];
}

function allReserved(attempt: Attempt): boolean {
  return attempt.outcomes.every((outcome) => outcome === 'ok');
}

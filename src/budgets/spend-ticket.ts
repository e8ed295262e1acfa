import type { CatalogModel } from '../config/catalog.schema';
import { costPico, picoOf, type TokenUsage } from '../metrics/cost';
import { BudgetExhausted, BudgetUnavailable, budgetName, dollarsApart } from './budget.errors';
import type { BudgetLeases, ReserveOutcome } from './budget-leases';
import type { Exhaustion } from './budget-periods.repository';
import type { BudgetAction, BudgetDefinition, SpendMark } from './budget.types';
import type { LocalLedger } from './local-ledger';
import { worstCasePico } from './worst-case';

/** One budget a request is under: what it reserved on it, and the worst case it would settle at if its usage is unknown. */
export interface TicketEntry {
  budget: BudgetDefinition;
  ledger: LocalLedger;
  reservedPico: bigint;
  worstPico: bigint;
  /**
   * The budget ran out and its action (downgrade) lets the request through anyway: nothing is
   * reserved on it, and what the request costs is still added to its spent.
   */
  overage: boolean;
}

/** How a request ended, for what its budgets are charged. */
export type Settlement =
  /** The answer's usage: its exact cost. */
  | { billed: 'usage'; model: CatalogModel; usage: TokenUsage }
  /** An answer started but its usage is unknown (the stream broke, the client left): the worst case. */
  | { billed: 'worst' }
  /** No answer: the provider bills nothing for a failed call. */
  | { billed: 'none' };

/**
 * A request's reservations under its budgets, from admission to settlement: before each fallback
 * candidate the reservation moves to that model's worst case (refused like the first one when it
 * does not fit), and at the end every budget is charged what the request really cost.
 */
export class SpendTicket {
  private settled = false;

  constructor(
    private readonly leases: BudgetLeases,
    private readonly nowMs: () => number,
    readonly entries: TicketEntry[],
    private model: CatalogModel,
    private readonly body: Record<string, unknown>,
    private readonly promptTokens: number,
    /** What a budget did to the request (downgrade, shadow_only), for its headers and metric row. */
    readonly mark: SpendMark | undefined,
    /** A fallback's worst case did not fit: the budget ran out as surely as on the first candidate. */
    private readonly noticeExhausted: (refused: TicketEntry, atMs: number) => void,
  ) {}

  /**
   * Before calling a fallback candidate: the previous model's reservation (its call failed: it costs
   * nothing) makes room for this model's worst case. A refusal is the error to answer with.
   */
  switchTo(model: CatalogModel): undefined | Promise<BudgetExhausted | BudgetUnavailable | undefined> {
    if (model.id === this.model.id || this.settled) return undefined;
    this.model = model;
    const worst = worstCasePico(model, this.body, this.promptTokens);
    const outcomes: Array<ReserveOutcome | Promise<ReserveOutcome>> = [];
    for (const entry of this.entries) {
      entry.ledger.release(entry.reservedPico);
      entry.reservedPico = 0n;
      entry.worstPico = worst;
      outcomes.push(entry.overage ? 'ok' : this.leases.reserve(entry.ledger, worst, this.nowMs()));
    }
    if (outcomes.every((outcome) => outcome === 'ok')) {
      this.holdAll(worst);
      return undefined;
    }
    return Promise.all(outcomes).then((resolved) => {
      const refusal = resolved.findIndex((outcome) => outcome !== 'ok');
      if (refusal === -1) {
        this.holdAll(worst);
        return undefined;
      }
      resolved.forEach((outcome, index) => {
        if (outcome === 'ok' && !this.entries[index].overage) this.entries[index].ledger.release(worst);
      });
      const entry = this.entries[refusal];
      if (resolved[refusal] !== 'exhausted') return new BudgetUnavailable(entry.budget.id, budgetName(entry.budget));
      const nowMs = this.nowMs();
      this.noticeExhausted(entry, nowMs);
      return exhaustedError(
        entry.budget,
        entry.ledger,
        worst,
        nowMs,
        ` That worst case is on its fallback ${model.id}, which was not called.`,
      );
    });
  }

  /** Charges every budget once; the reservations go. */
  settle(settlement: Settlement): void {
    if (this.settled) return;
    this.settled = true;
    for (const entry of this.entries) {
      const cost =
        settlement.billed === 'usage'
          ? costPico(settlement.model.pricing, settlement.usage)
          : settlement.billed === 'worst'
            ? entry.worstPico
            : 0n;
      entry.ledger.settle(entry.reservedPico, cost);
      entry.reservedPico = 0n;
    }
  }

  private holdAll(worst: bigint): void {
    for (const entry of this.entries) if (!entry.overage) entry.reservedPico = worst;
  }
}

/** The 429 of a budget that cannot hold `worstPico` more: which budget, what is left, when it resets. */
export function exhaustedError(
  budget: BudgetDefinition,
  ledger: LocalLedger,
  worstPico: bigint,
  nowMs: number,
  why = '',
): BudgetExhausted {
  const [worst, left] = dollarsApart(worstPico, ledger.reachablePico);
  const resets =
    ledger.endMs === null
      ? `It does not reset (a total budget): an admin can raise its limit (PATCH /api/budgets/${budget.id}).`
      : `It resets at ${new Date(ledger.endMs).toISOString()} (the next ${budget.period} in ${budget.timezone}).`;
  return new BudgetExhausted(
    budget.id,
    `Spend ${budgetName(budget)} is used up: this request may cost up to ${worst} and ${left} ` +
      `is left of the limit after what is spent and reserved.${why} ${resets}`,
    ledger.endMs === null ? undefined : Math.max(1, Math.ceil((ledger.endMs - nowMs) / 1000)),
  );
}

/**
 * What a used-up budget does to requests. `tooBig`: one request's worst case did not fit in what was
 * left, so only requests whose worst case does not fit are affected (a canary pauses all the same).
 */
export function exhaustedEffect(action: BudgetAction, tooBig: boolean): string {
  const which = tooBig ? 'requests whose worst case does not fit' : 'its requests';
  if (action === 'reject') return `${which} are refused (429 insufficient_quota)`;
  if (action === 'downgrade') return `${which} are served by the policy's cheapest healthy model`;
  return "the canary's treatment traffic goes to the control and the canary pauses";
}

/** The request that did not fit, as the 429 says it: each request reserves its worst case before the call. */
export function worstCaseExceeds(by: Exhaustion, verb: 'exceeds' | 'exceeded'): string {
  const [worst, left] = dollarsApart(picoOf(by.worstUsd), picoOf(by.leftUsd));
  return (
    `a single request's worst case (${worst}) ${verb} the ${left} left ` +
    'of its limit after what is spent and reserved (each request reserves its worst case before the call)'
  );
}

/** An alert threshold (a fraction of the limit) as messages write it: 0.8 → 80%. */
export function percentOf(threshold: number): string {
  return `${Math.round(threshold * 10000) / 100}%`;
}

export function exhaustionEvidence(by: Exhaustion): { worstCaseUsd: number; leftUsd: number } {
  return { worstCaseUsd: Number(by.worstUsd), leftUsd: Number(by.leftUsd) };
}

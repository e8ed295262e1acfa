import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { formatPico, picoOf } from '../metrics/cost';
import { BudgetDirectory } from './budget-directory';
import { BudgetLeasesRepository } from './budget-leases.repository';
import { currentPeriodOf } from './budget-period';
import { BudgetPeriodsRepository } from './budget-periods.repository';
import { budgetName, dollarsOf } from './budget.errors';
import type { BudgetAction } from './budget.types';
import { worstCaseExceeds } from './spend-ticket';

/** A budget of a canary ran out: the canary is to pause. */
export interface CanaryBudgetExhausted {
  canaryId: string;
  budgetId: string;
  /** How messages and logs name it (`budgetName`). */
  budgetName: string;
  /** What the budget does to the treatment's requests now (shadow_only: the pause takes the treatment to 0%). */
  action: BudgetAction;
  /** What the alert and the canary's event say. */
  reason: string;
}

/** A budget of a canary its treatment cannot spend under now, and why (naming it and what to do). */
export interface UsedUpBudget {
  budgetId: string;
  why: string;
}

const FATE: Record<BudgetAction, string> = {
  reject: 'would be refused (429 insufficient_quota)',
  downgrade: "would be served by the policy's cheapest model",
  shadow_only: 'would go to the control',
};

/**
 * How budgets/ and canaries talk, without budgets knowing the canary module (which depends on
 * budgets, never the reverse): the canary module subscribes at start-up to a canary's budget running
 * out, and pauses the canary; before a resume it asks whether a budget of the canary
 * is still used up. (Which canaries are active, budgets learn from ActiveCanaries, as the policy map does.)
 */
@Injectable()
export class BudgetCanaries {
  private readonly logger = new Logger(BudgetCanaries.name);
  private readonly listeners: Array<(event: CanaryBudgetExhausted) => Promise<void>> = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly directory: BudgetDirectory,
    private readonly periods: BudgetPeriodsRepository,
    private readonly leases: BudgetLeasesRepository,
    private readonly clock: Clock,
  ) {}

  onCanaryBudgetExhausted(listener: (event: CanaryBudgetExhausted) => Promise<void>): void {
    this.listeners.push(listener);
  }

  /** Tells the listeners; a listener that fails is logged (the next exhaustion of a period tries again). */
  async exhausted(event: CanaryBudgetExhausted): Promise<void> {
    for (const listener of this.listeners) {
      await listener(event).catch((error: unknown) =>
        this.logger.error(
          { err: error, canary: event.canaryId, budget: event.budgetId },
          `could not pause the canary: ${event.budgetName} ran out`,
        ),
      );
    }
  }

  /**
   * The first budget of the canary that is used up in its current period: nothing left of its limit
   * after what is spent and reserved, or less left than the worst case of the request that ran it
   * out. Resumed under it, the canary's treatment would get no traffic of its own to judge.
   */
  async usedUp(canaryId: string): Promise<UsedUpBudget | null> {
    const nowMs = this.clock.nowMs();
    const manager = this.dataSource.manager;
    for (const budget of this.directory.all()) {
      if (budget.scope !== 'canary' || budget.target !== canaryId) continue;
      const { window, key } = currentPeriodOf(budget, nowMs);
      const [row, leases] = await Promise.all([
        this.periods.find(manager, key),
        this.leases.live(manager, key, new Date(nowMs)),
      ]);
      const spentPico = picoOf(row?.spentUsd ?? '0');
      const reservedPico = leases.reduce((sum, lease) => sum + picoOf(lease.reservedUsd), 0n);
      const leftPico = budget.limitPico - spentPico - reservedPico;
      const by = row?.exhaustedAt ? row.exhaustedBy : null;
      const tooBig = by !== null && leftPico > 0n && leftPico < picoOf(by.worstUsd);
      if (leftPico > 0n && !tooBig) continue;
      const cause = tooBig
        ? worstCaseExceeds({ worstUsd: by.worstUsd, leftUsd: formatPico(leftPico) }, 'exceeds')
        : `${dollarsOf(spentPico)} is spent and ${dollarsOf(reservedPico)} reserved of its limit`;
      const resets =
        window.endMs === null ? '' : `, or resume after it resets at ${new Date(window.endMs).toISOString()}`;
      return {
        budgetId: budget.id,
        why:
          `${budgetName(budget)} is used up: ${cause}. The treatment's requests ${FATE[budget.onExhausted]}, ` +
          `so the stage would have none of its own to judge. Raise its limit (PATCH /api/budgets/${budget.id}) or delete it${resets}.`,
      };
    }
    return null;
  }
}

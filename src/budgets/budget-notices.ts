import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { AlertsService } from '../alerts/alerts.service';
import { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { BudgetCanaries } from './budget-canaries';
import { BudgetPeriodsRepository, type Exhaustion } from './budget-periods.repository';
import { formatPico, picoOf, usdNumberOf } from '../metrics/cost';
import type { BudgetAction, BudgetDefinition } from './budget.types';
import type { LocalLedger } from './local-ledger';
import { budgetName, dollarsOf } from './budget.errors';
import { exhaustedEffect, exhaustionEvidence, percentOf, worstCaseExceeds } from './spend-ticket';

/**
 * What happens once when a budget runs out in a period: the period row records when, a
 * `budget.exhausted` alert goes out (once, whichever replica saw it first), and a canary's budget
 * pauses the canary (the treatment's requests it refuses, downgrades or sends to the control are left
 * out of the judgment: the stages would go on with ever less evidence). Raised from the request path,
 * so fire-and-forget: the request never waits on the database, and a failed attempt is logged,
 * counted and retried by the next refusal.
 */
@Injectable()
export class BudgetNotices implements OnModuleDestroy {
  private readonly logger = new Logger(BudgetNotices.name);
  private readonly noticed = new Set<string>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Exhaustion notices that could not be stored (database down) since start. */
  failedNotices = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly periods: BudgetPeriodsRepository,
    private readonly alerts: AlertsService,
    private readonly canaries: BudgetCanaries,
    prometheus: PrometheusMetrics,
  ) {
    const failed = () => this.failedNotices;
    new Counter({
      name: 'switchyard_budget_notices_dropped_total',
      help: 'Budget exhaustion notices (period mark, budget.exhausted alert, canary pause) that could not be stored since start; the next refusal retries',
      registers: [prometheus.registry],
      collect() {
        this.reset();
        this.inc(failed());
      },
    });
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** A request whose worst case (`worstPico`) did not fit in what the budget's ledger has left. */
  exhausted(refused: { budget: BudgetDefinition; ledger: LocalLedger; worstPico: bigint }, atMs: number): void {
    const { budget, ledger } = refused;
    const action = budget.onExhausted;
    // Per action and limit: a budget whose action changed after it ran out asks its canary to pause
    // again (a canary that is paused already stays as it is), and so does one that runs out again
    // after its limit changed (the canary was resumed meanwhile).
    const id = `${budget.id}@${ledger.startMs}:${action}:${budget.limitPico}`;
    if (this.noticed.has(id)) return;
    this.noticed.add(id);
    const by = { worstUsd: formatPico(refused.worstPico), leftUsd: formatPico(ledger.reachablePico) };
    const name = budgetName(budget);
    const work = this.record(budget, ledger, action, name, new Date(atMs), by)
      .catch((error: unknown) => {
        this.noticed.delete(id);
        this.failedNotices++;
        this.logger.error({ err: error, budget: budget.id }, `could not record that ${name} ran out`);
      })
      .finally(() => this.pending.delete(work));
    this.pending.add(work);
  }

  private async record(
    budget: BudgetDefinition,
    ledger: LocalLedger,
    action: BudgetAction,
    description: string,
    at: Date,
    by: Exhaustion,
  ): Promise<void> {
    const periodStart = new Date(ledger.startMs);
    const periodEnd = ledger.endMs === null ? null : new Date(ledger.endMs);
    const until = periodEnd ? ` until ${periodEnd.toISOString()}` : '';
    const tooBig = picoOf(by.leftUsd) > 0n;
    const what = tooBig ? `${description}: ${worstCaseExceeds(by, 'exceeds')}` : `${description} ran out`;
    const effect = exhaustedEffect(action, tooBig);
    const pauses = budget.scope === 'canary' && action !== 'shadow_only' ? ', and the canary pauses' : '';
    await this.dataSource.transaction(async (manager) => {
      const key = { budgetId: budget.id, periodStart, periodEnd };
      const marked = await this.periods.markExhausted(manager, key, at, by);
      if (!marked) return;
      // Running out passes every threshold not alerted yet: said here, in the one alert of the event,
      // and marked alerted with it, so the watch sends no alert of their own for them.
      const passed = budget.alertAt.filter((threshold) => !marked.alertedAt.includes(threshold));
      if (passed.length > 0) await this.periods.markAlerted(manager, key, passed, at);
      const spent = `${dollarsOf(picoOf(marked.spentUsd))} spent`;
      const thresholds =
        passed.length === 0
          ? ''
          : ` It is past its ${listed(passed.map(percentOf))} alert thresholds too (${spent}): they get no alerts of their own.`;
      await this.alerts.raise(
        {
          type: 'budget.exhausted',
          // One per time it ran out: a period reopened by a raised limit can run out again.
          dedupKey: `budget:${budget.id}:${periodStart.toISOString()}:exhausted:${at.toISOString()}`,
          message: `${what}: ${effect}${pauses}${until}.${thresholds}`,
          canaryId: budget.scope === 'canary' ? budget.target : null,
          evidence: {
            budget: budget.id,
            budgetName: description,
            scope: budget.scope,
            target: budget.target,
            onExhausted: action,
            ...exhaustionEvidence(by),
            thresholds: passed,
            spentUsd: Number(marked.spentUsd),
            limitUsd: usdNumberOf(budget.limitPico),
            periodStart: periodStart.toISOString(),
            periodEnd: periodEnd?.toISOString() ?? null,
          },
        },
        manager,
      );
    });
    if (budget.scope === 'canary') {
      await this.canaries.exhausted({
        canaryId: budget.target,
        budgetId: budget.id,
        budgetName: description,
        action,
        reason:
          action === 'shadow_only'
            ? `${what} (shadow_only): treatment traffic goes to the control`
            : `${what} (${action}): ${effect} and left out of the canary's judgment`,
      });
    }
  }
}

/** "50%, 80% and 100%". */
function listed(items: string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Clock, type ScheduledJob } from '../common/clock';
import { newReplicaName } from '../common/replica-name';
import { within } from '../common/within';
import { budgetsConfig, type BudgetsConfig } from '../config/budgets.config';
import { ShutdownDeadline } from '../database/shutdown-deadline';
import { budgetName, dollarsOf } from './budget.errors';
import { BudgetLedgerStore } from './budget-ledger.store';
import { periodAt } from './budget-period';
import type { BudgetDefinition } from './budget.types';
import { LocalLedger, type SyncRequest } from './local-ledger';

/** A lease nobody reserved from for this long goes back to the pool (a request then tops up first). */
const IDLE_RELEASE_MS = 5 * 60_000;
/** A request that finds the lease short retries the top-up at most this often before it is refused. */
const MAX_TOP_UPS = 5;
/** How long a request waits for one top-up before its budget counts as unavailable (503 budget_unavailable). */
const TOP_UP_WAIT_MS = 5_000;

/** `closed`: the period ended or the budget is gone while the request waited; resolve the ledger again. */
export type ReserveOutcome = 'ok' | 'exhausted' | 'unavailable' | 'closed';

interface Syncing {
  running?: Promise<void>;
  queued?: Promise<void>;
}

/**
 * This replica's leases of budget headroom, one LocalLedger per budget period. A reservation comes
 * from the lease in memory; only when the lease is short does a request wait for a top-up (one
 * transaction, shared by every request waiting meanwhile). Every BUDGET_SYNC_MS the job settles
 * what was spent into the shared ledger, tops leases up or hands spare headroom back, and renews
 * them; a replica that stops doing so (killed) loses its leases after BUDGET_LEASE_TTL_MS.
 */
@Injectable()
export class BudgetLeases implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(BudgetLeases.name);
  /** This replica in lease rows: unique per process start, so a restarted replica never inherits a dead one's lease. */
  readonly replica = newReplicaName();
  private readonly current = new Map<string, LocalLedger>();
  private readonly ledgers = new Set<LocalLedger>();
  private readonly syncing = new WeakMap<LocalLedger, Syncing>();
  private job?: ScheduledJob;
  private failing = false;

  private unsettledReported = false;

  constructor(
    private readonly store: BudgetLedgerStore,
    private readonly clock: Clock,
    @Inject(budgetsConfig.KEY) private readonly config: BudgetsConfig,
    private readonly shutdownDeadline: ShutdownDeadline,
  ) {}

  onApplicationBootstrap(): void {
    this.job = this.clock.every('budget-sync', this.config.syncMs, () => this.syncDue());
    // A database that hangs holds the final syncs past the process bound: report before it.
    this.shutdownDeadline.whenReached(() =>
      this.reportUnsettled('the shutdown deadline came before Postgres answered'),
    );
  }

  /**
   * Settles what was spent here and gives every lease back, so other replicas can use the headroom
   * at once. Spend the database would not take is reported, budget by budget: the shared ledger
   * will not count it.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.job?.stop();
    for (const ledger of this.ledgers) ledger.close();
    await Promise.all([...this.ledgers].map((ledger) => this.sync(ledger)));
    this.reportUnsettled('Postgres did not answer');
  }

  /** Once, at shutdown: each budget's spend the shared ledger has not confirmed, which it will not count. */
  private reportUnsettled(why: string): void {
    if (this.unsettledReported) return;
    this.unsettledReported = true;
    for (const ledger of this.ledgers) {
      if (ledger.unconfirmedPico === 0n) continue;
      this.logger.error(
        `shutting down with ${dollarsOf(ledger.unconfirmedPico)} spent under ${ledger.name} not settled in the shared ledger (${why}): the budget does not count it`,
      );
    }
  }

  /** The ledger of the budget's period at `nowMs` (a new period starts with an empty lease). */
  ledgerOf(budget: BudgetDefinition, nowMs: number): LocalLedger {
    const ledger = this.current.get(budget.id);
    if (ledger && !ledger.closed && nowMs >= ledger.startMs && (ledger.endMs === null || nowMs < ledger.endMs))
      return ledger;
    ledger?.close();
    const window = periodAt(budget.period, budget.timezone, nowMs, budget.createdAt.getTime());
    const opened = new LocalLedger(budget.id, window.startMs, window.endMs);
    opened.limitPico = budget.limitPico;
    opened.name = budgetName(budget);
    opened.lastActivityMs = nowMs;
    this.current.set(budget.id, opened);
    this.ledgers.add(opened);
    return opened;
  }

  /** Reserves `amountPico`: at once from the lease in memory, or after topping the lease up. */
  reserve(ledger: LocalLedger, amountPico: bigint, nowMs: number): ReserveOutcome | Promise<ReserveOutcome> {
    const result = ledger.tryReserve(amountPico, nowMs);
    if (result === 'ok') return 'ok';
    // Figures of the last sync say no lease anywhere could cover it: no round trip to be told so again.
    const fresh = nowMs - ledger.lastSyncMs < this.config.syncMs;
    if (result === 'full' && fresh && amountPico > ledger.reachablePico) return 'exhausted';
    return this.reserveAfterTopUp(ledger, amountPico);
  }

  /** A budget's limit changed: the lease is resized now (a lowered limit takes its spare headroom back). */
  async budgetChanged(budget: BudgetDefinition): Promise<void> {
    const ledger = this.current.get(budget.id);
    if (!ledger) return;
    ledger.limitPico = budget.limitPico;
    ledger.name = budgetName(budget);
    await this.sync(ledger);
  }

  /** A budget was deleted: nothing more is admitted under it, and its ledger is forgotten. */
  budgetDeleted(budgetId: string): void {
    const ledger = this.current.get(budgetId);
    if (!ledger) return;
    ledger.close();
    this.current.delete(budgetId);
    this.ledgers.delete(ledger);
  }

  /** Runs one sync of the ledger that starts after this call (joining one queued already). */
  sync(ledger: LocalLedger): Promise<void> {
    let state = this.syncing.get(ledger);
    if (!state) this.syncing.set(ledger, (state = {}));
    if (state.queued) return state.queued;
    const own = state;
    const queued = (own.running ?? Promise.resolve()).then(() => {
      own.queued = undefined;
      const running = this.syncOnce(ledger);
      own.running = running;
      return running.finally(() => {
        if (own.running === running) own.running = undefined;
      });
    });
    own.queued = queued;
    return queued;
  }

  /** The periodic job: every ledger with something to settle, to top up, to hand back or to renew. */
  async syncDue(): Promise<void> {
    const nowMs = this.clock.nowMs();
    const due: Promise<void>[] = [];
    for (const ledger of this.ledgers) {
      if (ledger.endMs !== null && nowMs >= ledger.endMs) ledger.close();
      if (ledger.closed && ledger.drained) {
        this.forget(ledger);
        continue;
      }
      if (this.isDue(ledger, nowMs)) due.push(this.sync(ledger));
    }
    await Promise.all(due);
  }

  private isDue(ledger: LocalLedger, nowMs: number): boolean {
    if (ledger.closed || ledger.usedPico !== 0n || ledger.unsettledSync !== null) return true;
    const holds = ledger.grantedPico > 0n || ledger.reservedPico > 0n;
    if (!holds) return false;
    const free = ledger.freePico;
    const idle = ledger.reservedPico === 0n && nowMs - ledger.lastActivityMs >= IDLE_RELEASE_MS;
    return (
      idle ||
      // What is in flight is shown (GET /api/budgets/:id) as of each replica's last sync.
      ledger.reservedPico !== ledger.reportedReservedPico ||
      free < ledger.targetPico / 2n ||
      free > 2n * ledger.targetPico ||
      nowMs - ledger.lastSyncMs >= this.config.leaseTtlMs / 3
    );
  }

  private async reserveAfterTopUp(ledger: LocalLedger, amountPico: bigint): Promise<ReserveOutcome> {
    ledger.waitingPico += amountPico;
    try {
      for (let round = 0; round < MAX_TOP_UPS; round++) {
        // A database that hangs would hold the request as long: past the bound its spend cannot be checked.
        if (!(await within(this.sync(ledger), TOP_UP_WAIT_MS))) return 'unavailable';
        const result = ledger.tryReserve(amountPico, this.clock.nowMs());
        if (result === 'ok') return 'ok';
        if (result === 'stale') return ledger.closed ? 'closed' : 'unavailable';
        if (amountPico > ledger.reachablePico) return 'exhausted';
      }
      return 'exhausted';
    } finally {
      ledger.waitingPico -= amountPico;
    }
  }

  private async syncOnce(ledger: LocalLedger): Promise<void> {
    const nowMs = this.clock.nowMs();
    const key = {
      budgetId: ledger.budgetId,
      periodStart: new Date(ledger.startMs),
      periodEnd: ledger.endMs === null ? null : new Date(ledger.endMs),
    };
    let request: SyncRequest | undefined;
    try {
      if (ledger.unsettledSync !== null)
        ledger.settleUnsettled(await this.store.committed(key, this.replica, ledger.unsettledSync, new Date(nowMs)));
      const idle =
        ledger.reservedPico === 0n && ledger.waitingPico === 0n && nowMs - ledger.lastActivityMs >= IDLE_RELEASE_MS;
      request = ledger.startSync(idle);
      const result = await this.store.sync({
        key,
        replica: this.replica,
        at: new Date(nowMs),
        expiresAt: new Date(nowMs + this.config.leaseTtlMs),
        request,
        leaseFraction: this.config.leaseFraction,
      });
      if (!result) {
        this.budgetDeleted(ledger.budgetId);
        return;
      }
      // Stop admitting a little before the others may count the lease as expired (clocks drift).
      ledger.completeSync(result, result.expiresAtMs - this.config.leaseTtlMs / 10, nowMs);
      if (this.failing) this.logger.log('budget leases are synced with Postgres again');
      this.failing = false;
      if (ledger.closed && ledger.drained) this.forget(ledger);
    } catch (error) {
      if (request) ledger.failSync();
      if (!this.failing) {
        this.logger.warn(
          `could not sync budget leases (${(error as Error).message}); spending only the headroom already held, until it expires`,
        );
      }
      this.failing = true;
    }
  }

  private forget(ledger: LocalLedger): void {
    this.ledgers.delete(ledger);
    if (this.current.get(ledger.budgetId) === ledger) this.current.delete(ledger.budgetId);
  }
}

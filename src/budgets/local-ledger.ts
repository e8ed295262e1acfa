/**
 * One replica's share of one budget period, in picodollars: the lease of headroom it holds in
 * Postgres and what it reserved, spent and handed back since. Pure bookkeeping, no I/O and no clock
 * of its own (BudgetLeases does both), so every rule here is unit-tested alone.
 *
 * The lease covers everything the replica has out: `reserved` (requests in flight, at their worst
 * case), `used` (settled, not written to the shared ledger yet) and `free` headroom. Postgres keeps
 * spent + the sum of every live lease ≤ limit, so as long as a request is admitted only from `free`,
 * spent + reserved can never pass the limit anywhere — without a query per request.
 */

export type ReserveResult = 'ok' | 'full' | 'stale';

/** What one sync asks of Postgres. */
export interface SyncRequest {
  /** The ledger's sync number, which Postgres keeps as its receipt once the sync commits. */
  sync: number;
  /** Settled since the last sync: added to the period's spent, taken off the lease. */
  flushPico: bigint;
  /** Headroom handed back (decided here, before the sync, so nothing reserves it meanwhile). */
  returnPico: bigint;
  /** Reservations in flight: the lease never shrinks below them. */
  reservedPico: bigint;
  /** Headroom requests are waiting for right now, on top of their reservations. */
  wantPico: bigint;
  /** False once closed or idle: the lease is to shrink to what is in flight, with no spare topped up. */
  keepSpare: boolean;
}

/** What Postgres answered, every figure as of the sync's transaction. */
export interface SyncResult {
  grantedPico: bigint;
  limitPico: bigint;
  spentPico: bigint;
  /** Live leases of the other replicas. */
  othersPico: bigint;
  /** The free headroom the next syncs aim to hold. */
  targetPico: bigint;
  /** The lease expires (for every replica) at this time unless renewed. */
  expiresAtMs: number;
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/**
 * The lease after a sync, given the figures read under the period row's lock: a lease never shrinks
 * here (only explicit returns shrink it), grows by what is asked — the reservations in flight, the
 * waiting requests, and up to half of the unleased headroom as spare, at most `chunk` — and never
 * past what the limit leaves after the spent and the other replicas' leases.
 */
export function leaseAfterSync(figures: {
  limitPico: bigint;
  spentPico: bigint;
  othersPico: bigint;
  /** Our lease after this sync's flush and return. */
  currentPico: bigint;
  reservedPico: bigint;
  wantPico: bigint;
  chunkPico: bigint;
}): { grantedPico: bigint; targetPico: bigint } {
  const { limitPico, spentPico, othersPico, currentPico, reservedPico, wantPico, chunkPico } = figures;
  const allowed = limitPico - spentPico - othersPico;
  const targetPico = min(chunkPico, max(0n, allowed - reservedPico - wantPico) / 2n);
  const desired = reservedPico + wantPico + targetPico;
  const topUp = min(max(0n, desired - currentPico), max(0n, allowed - currentPico));
  return { grantedPico: currentPico + topUp, targetPico };
}

export class LocalLedger {
  /** The lease as Postgres last confirmed it. */
  grantedPico = 0n;
  reservedPico = 0n;
  usedPico = 0n;
  /** Being written by the sync in flight. */
  private flushingPico = 0n;
  private returningPico = 0n;
  private reportingPico = 0n;
  /** Headroom requests wait for (their worst cases), while a top-up is under way. */
  waitingPico = 0n;
  /** Admission stops here: before the lease could have expired for the other replicas. */
  validUntilMs = 0;
  /** How logs name the budget (`budgetName`, kept current by BudgetLeases). */
  name = '';
  /** The figures of the last sync (zero until the first). */
  limitPico = 0n;
  spentPico = 0n;
  othersPico = 0n;
  targetPico = 0n;
  lastSyncMs = 0;
  lastActivityMs = 0;
  /** The reservations the last sync wrote to the lease row (for the budget's status). */
  reportedReservedPico = 0n;
  /** No more reservations: the period ended, or the budget is gone. */
  closed = false;
  /**
   * A sync Postgres did not confirm (the connection failed, perhaps during its commit). What it was
   * writing and handing back stays set aside until its receipt says whether it counted.
   */
  unsettledSync: number | null = null;
  private syncsStarted = 0;

  constructor(
    readonly budgetId: string,
    readonly startMs: number,
    readonly endMs: number | null,
  ) {}

  /** Headroom this replica may still reserve from. */
  get freePico(): bigint {
    return this.grantedPico - this.reservedPico - this.usedPico - this.flushingPico - this.returningPico;
  }

  /**
   * What Postgres could still lease to anyone after the last sync: the limit minus spent and every
   * lease. A request bigger than this plus our own free headroom cannot be admitted.
   */
  get unleasedPico(): bigint {
    return max(0n, this.limitPico - this.spentPico - this.othersPico - this.grantedPico);
  }

  /**
   * The most a request could still get, as of the last sync: our free headroom, what we are handing
   * back right now (unleased once that sync ends) and what nobody leases. Less than its worst case:
   * the budget is used up.
   */
  get reachablePico(): bigint {
    return max(0n, this.freePico) + this.returningPico + this.unleasedPico;
  }

  /**
   * The one boundary rule, on what this replica holds: admitted only if free headroom remains and
   * covers the whole worst case, so spent + reserved ≥ limit always refuses (a free model too).
   */
  tryReserve(amountPico: bigint, nowMs: number): ReserveResult {
    if (this.closed || nowMs >= this.validUntilMs) return 'stale';
    const free = this.freePico;
    if (free <= 0n || amountPico > free) return 'full';
    this.reservedPico += amountPico;
    this.lastActivityMs = nowMs;
    return 'ok';
  }

  release(amountPico: bigint): void {
    this.reservedPico -= amountPico;
  }

  /** The request is over: its reservation goes, what it cost stays until the next sync writes it. */
  settle(reservedPico: bigint, costPico: bigint): void {
    this.reservedPico -= reservedPico;
    this.usedPico += costPico;
  }

  /** The period is over or the budget gone: nothing new is admitted, what is out settles and goes back. */
  close(): void {
    this.closed = true;
  }

  /** Spent here and not confirmed in the shared ledger: not synced yet, or sent by a sync with no answer. */
  get unconfirmedPico(): bigint {
    return this.usedPico + this.flushingPico;
  }

  /** Whether there is nothing left to write or hold: the ledger can be forgotten once its lease is gone. */
  get drained(): boolean {
    return this.reservedPico === 0n && this.usedPico === 0n && this.grantedPico === 0n && this.unsettledSync === null;
  }

  /**
   * Starts a sync: what was settled is sent, and spare headroom beyond twice the target (or all of
   * it, once closed or idle) is handed back — set aside now, so nothing reserves it meanwhile.
   */
  startSync(releaseAll: boolean): SyncRequest {
    if (this.unsettledSync !== null)
      throw new Error(`sync ${this.unsettledSync} of budget ${this.budgetId} is unsettled`);
    const flushPico = this.usedPico;
    this.usedPico = 0n;
    this.flushingPico = flushPico;
    const free = this.freePico;
    let returnPico = 0n;
    if (free > 0n) {
      // A lowered limit: hold no more than it allows (and never less than what is in flight).
      const allowed = this.limitPico - this.spentPico - flushPico - this.othersPico;
      const overLimit = this.grantedPico - flushPico - max(this.reservedPico, allowed);
      // Never what waiting requests are about to reserve (their top-up may have just landed).
      const spare = free - this.waitingPico;
      if (this.closed || (releaseAll && this.waitingPico === 0n)) returnPico = free;
      else if (spare > 2n * this.targetPico) returnPico = spare - this.targetPico;
      if (overLimit > returnPico) returnPico = min(free, overLimit);
    }
    this.returningPico = returnPico;
    this.reportingPico = this.reservedPico;
    const keepSpare = !this.closed && !(releaseAll && this.waitingPico === 0n);
    return {
      sync: ++this.syncsStarted,
      flushPico,
      returnPico,
      reservedPico: this.reservedPico,
      wantPico: this.waitingPico,
      keepSpare,
    };
  }

  completeSync(result: SyncResult, validUntilMs: number, nowMs: number): void {
    this.flushingPico = 0n;
    this.returningPico = 0n;
    this.grantedPico = result.grantedPico;
    this.limitPico = result.limitPico;
    this.spentPico = result.spentPico;
    this.othersPico = result.othersPico;
    this.targetPico = result.targetPico;
    this.validUntilMs = validUntilMs;
    this.lastSyncMs = nowMs;
    this.reportedReservedPico = this.reportingPico;
  }

  /**
   * Postgres did not confirm the sync. It may still have committed (a connection lost during the
   * commit), so what it was writing is neither spendable nor sent again until `settleUnsettled`.
   */
  failSync(): void {
    this.unsettledSync = this.syncsStarted;
  }

  /**
   * The unsettled sync's receipt was read. Committed: its spend is in the shared ledger and its
   * hand-back done; the lease it wrote is at least ours minus both (a top-up it made is learnt at the
   * next sync). Not committed: its spend is written next time, its hand-back is ours again.
   */
  settleUnsettled(committed: boolean): void {
    if (committed) this.grantedPico -= this.flushingPico + this.returningPico;
    else this.usedPico += this.flushingPico;
    this.flushingPico = 0n;
    this.returningPico = 0n;
    this.unsettledSync = null;
  }
}

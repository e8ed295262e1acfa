import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { formatPico, picoOf } from '../metrics/cost';
import { BudgetHourlySpendRepository } from './budget-hourly-spend.repository';
import { BudgetLeasesRepository } from './budget-leases.repository';
import { type PeriodKey, BudgetPeriodsRepository } from './budget-periods.repository';
import { BudgetSyncReceiptsRepository } from './budget-sync-receipts.repository';
import { leaseAfterSync, type SyncRequest, type SyncResult } from './local-ledger';

const FRACTION_SCALE = 1_000_000;

export interface LedgerSync {
  key: PeriodKey & { periodEnd: Date | null };
  replica: string;
  at: Date;
  expiresAt: Date;
  request: SyncRequest;
  /** BUDGET_LEASE_FRACTION: a lease's spare headroom is at most this share of the limit. */
  leaseFraction: number;
}

/**
 * One replica's sync of one budget period, in one transaction: settle what it spent into the
 * period's row, then size its lease under that row's lock — so syncs of a period never interleave
 * across replicas, and the lease sum read is the committed one. About seven round trips, off the
 * request path (every BUDGET_SYNC_MS, or when a request finds the lease too small). The sync's
 * number is kept as the ledger's receipt in the same transaction: a sync whose commit went
 * unanswered is looked up (`committed`) rather than sent again, so no spend is settled twice.
 */
@Injectable()
export class BudgetLedgerStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly periods: BudgetPeriodsRepository,
    private readonly leases: BudgetLeasesRepository,
    private readonly hourly: BudgetHourlySpendRepository,
    private readonly receipts: BudgetSyncReceiptsRepository,
  ) {}

  /** The sync's result; null when the budget no longer exists. */
  sync({ key, replica, at, expiresAt, request, leaseFraction }: LedgerSync): Promise<SyncResult | null> {
    return this.dataSource.transaction(async (manager) => {
      const flushUsd = formatPico(request.flushPico);
      const locked = await this.periods.addSpentLocked(manager, key, flushUsd, at);
      if (!locked) return null;
      await this.receipts.put(manager, key, replica, request.sync, at);
      if (request.flushPico !== 0n) await this.hourly.add(manager, key.budgetId, at, flushUsd);
      const held = await this.leases.heldAt(manager, key, replica, at);
      const limitPico = picoOf(locked.limitUsd);
      const spentPico = picoOf(locked.spentUsd);
      const othersPico = picoOf(held.othersUsd);
      const mine = picoOf(held.mineUsd) - request.flushPico - request.returnPico;
      const { grantedPico, targetPico } = leaseAfterSync({
        limitPico,
        spentPico,
        othersPico,
        currentPico: mine > 0n ? mine : 0n,
        reservedPico: request.reservedPico,
        wantPico: request.wantPico,
        chunkPico: request.keepSpare
          ? (limitPico * BigInt(Math.round(leaseFraction * FRACTION_SCALE))) / BigInt(FRACTION_SCALE)
          : 0n,
      });
      await this.leases.put(
        manager,
        key,
        {
          replica,
          grantedUsd: formatPico(grantedPico),
          reservedUsd: formatPico(request.reservedPico),
          expiresAt,
          at,
        },
        grantedPico === 0n && request.reservedPico === 0n,
      );
      await this.leases.deleteExpired(manager, key, at);
      return { grantedPico, limitPico, spentPico, othersPico, targetPico, expiresAtMs: expiresAt.getTime() };
    });
  }

  /** Whether the replica's sync number `sync` of the period committed (Postgres did not confirm it to us). */
  async committed(key: PeriodKey, replica: string, sync: number, at: Date): Promise<boolean> {
    return (await this.receipts.lastCommitted(this.dataSource.manager, key, replica, at)) >= sync;
  }
}

import { describe, expect, it } from '@jest/globals';
import { leaseAfterSync, LocalLedger, type SyncResult } from './local-ledger';

const NOW = 1_000_000;

function synced(ledger: LocalLedger, result: Partial<SyncResult> & { grantedPico: bigint }): LocalLedger {
  ledger.completeSync(
    { limitPico: 1000n, spentPico: 0n, othersPico: 0n, targetPico: 100n, expiresAtMs: NOW + 30_000, ...result },
    NOW + 27_000,
    NOW,
  );
  return ledger;
}

describe('a lease after a sync', () => {
  const figures = {
    limitPico: 1000n,
    spentPico: 0n,
    othersPico: 0n,
    currentPico: 0n,
    reservedPico: 0n,
    wantPico: 0n,
    chunkPico: 100n,
  };

  it('takes what the waiting requests need plus spare headroom, at most the chunk', () => {
    expect(leaseAfterSync({ ...figures, wantPico: 30n })).toEqual({ grantedPico: 130n, targetPico: 100n });
  });

  it('never lets spent + every lease pass the limit', () => {
    // 50 left: the 30 waited for, and half of the 20 beyond as spare.
    const granted = leaseAfterSync({ ...figures, spentPico: 600n, othersPico: 350n, wantPico: 30n });
    expect(granted.grantedPico).toBe(40n);
    expect(leaseAfterSync({ ...figures, spentPico: 600n, othersPico: 350n, wantPico: 80n }).grantedPico).toBe(50n);
    expect(600n + 350n + granted.grantedPico).toBeLessThanOrEqual(1000n);
    expect(leaseAfterSync({ ...figures, spentPico: 1000n, wantPico: 1n }).grantedPico).toBe(0n);
  });

  it('takes at most half of what is left as spare, so other replicas find headroom too', () => {
    expect(leaseAfterSync({ ...figures, chunkPico: 1000n, spentPico: 800n })).toEqual({
      grantedPico: 100n,
      targetPico: 100n,
    });
  });

  it('never shrinks a lease (returns are explicit), even past a lowered limit', () => {
    expect(leaseAfterSync({ ...figures, limitPico: 100n, currentPico: 300n, reservedPico: 50n }).grantedPico).toBe(
      300n,
    );
  });
});

describe('LocalLedger', () => {
  it('reserves from free headroom only, and refuses at exactly the limit', () => {
    const ledger = synced(new LocalLedger('b', 0, null), { grantedPico: 100n });
    expect(ledger.tryReserve(60n, NOW)).toBe('ok');
    expect(ledger.tryReserve(41n, NOW)).toBe('full');
    expect(ledger.tryReserve(40n, NOW)).toBe('ok');
    // Spent + reserved = the lease: nothing more, not even a request that costs nothing.
    expect(ledger.freePico).toBe(0n);
    expect(ledger.tryReserve(0n, NOW)).toBe('full');
  });

  it('stops admitting when its lease may have expired for the other replicas', () => {
    const ledger = synced(new LocalLedger('b', 0, null), { grantedPico: 100n });
    expect(ledger.tryReserve(1n, NOW + 26_999)).toBe('ok');
    expect(ledger.tryReserve(1n, NOW + 27_000)).toBe('stale');
    expect(new LocalLedger('b', 0, null).tryReserve(1n, NOW)).toBe('stale');
  });

  it('settles to the real cost, and writes it at the next sync', () => {
    const ledger = synced(new LocalLedger('b', 0, null), { grantedPico: 100n });
    ledger.tryReserve(60n, NOW);
    ledger.settle(60n, 25n);
    expect(ledger.freePico).toBe(75n);
    const request = ledger.startSync(false);
    expect(request).toMatchObject({ flushPico: 25n, reservedPico: 0n });
    synced(ledger, { grantedPico: 75n, spentPico: 25n });
    expect(ledger.freePico).toBe(75n);
  });

  it('writes again what an unconfirmed sync was writing only if its receipt says it did not commit', () => {
    const spendTen = () => {
      const ledger = synced(new LocalLedger('b', 0, null), { grantedPico: 100n, targetPico: 40n });
      ledger.tryReserve(10n, NOW);
      ledger.settle(10n, 10n);
      expect(ledger.startSync(false)).toMatchObject({ sync: 1, flushPico: 10n, returnPico: 50n });
      ledger.failSync();
      // Until the receipt is read, neither the spend nor the hand-back can be reserved.
      expect(ledger.unsettledSync).toBe(1);
      expect(ledger.unconfirmedPico).toBe(10n);
      expect(ledger.freePico).toBe(40n);
      expect(() => ledger.startSync(false)).toThrow(/unsettled/);
      return ledger;
    };
    const lost = spendTen();
    lost.settleUnsettled(false);
    expect(lost.freePico).toBe(90n);
    expect(lost.startSync(false)).toMatchObject({ sync: 2, flushPico: 10n });

    const committed = spendTen();
    committed.settleUnsettled(true);
    expect(committed.grantedPico).toBe(40n);
    expect(committed.freePico).toBe(40n);
    expect(committed.startSync(false)).toMatchObject({ sync: 2, flushPico: 0n });
  });

  it('sets aside what it hands back, so nothing reserves it while the sync runs', () => {
    const ledger = synced(new LocalLedger('b', 0, null), { grantedPico: 500n, targetPico: 100n });
    const request = ledger.startSync(false);
    expect(request.returnPico).toBe(400n);
    expect(ledger.freePico).toBe(100n);
    expect(ledger.tryReserve(101n, NOW)).toBe('full');
  });

  it('never hands back what waiting requests are about to reserve', () => {
    // A top-up just landed for three waiting requests; the next sync starts before they reserve.
    const ledger = synced(new LocalLedger('b', 0, null), { grantedPico: 330n, targetPico: 30n });
    ledger.waitingPico = 300n;
    expect(ledger.startSync(false).returnPico).toBe(0n);
    expect(ledger.tryReserve(100n, NOW)).toBe('ok');
    // And what is handed back still counts as reachable, so nobody is refused for it meanwhile.
    const idle = synced(new LocalLedger('b', 0, null), { grantedPico: 500n, targetPico: 100n });
    idle.startSync(false);
    expect(idle.reachablePico).toBe(500n + idle.unleasedPico);
  });

  it('hands everything back once closed (period over, shutting down)', () => {
    const ledger = synced(new LocalLedger('b', 0, null), { grantedPico: 100n });
    ledger.tryReserve(30n, NOW);
    ledger.close();
    expect(ledger.tryReserve(1n, NOW)).toBe('stale');
    expect(ledger.startSync(false)).toMatchObject({ returnPico: 70n, reservedPico: 30n, keepSpare: false });
  });

  it('gives back headroom a lowered limit no longer allows', () => {
    const ledger = synced(new LocalLedger('b', 0, null), { grantedPico: 100n, targetPico: 100n });
    ledger.tryReserve(20n, NOW);
    ledger.limitPico = 50n;
    expect(ledger.startSync(false).returnPico).toBe(50n);
  });
});

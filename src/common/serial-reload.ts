/**
 * Reloads of an in-memory copy of some tables (budgets, API keys, shadow stages), one at a time.
 *
 * Two loads that overlap can finish in either order: a periodic one that read the tables just
 * before a change committed could be applied after the one the change's NOTIFY started, and put
 * the old state back (for budgets, forgetting a ledger with spend not yet written). So loads never
 * overlap: a reload asked for while one runs waits for it and is then run once for every caller
 * that asked meanwhile. Its promise settles when a load that started after the ask has been
 * applied, so `await reload()` after a commit sees that commit.
 *
 * A change applied to the copy directly (`changedHere`) while a load is reading is newer than what
 * that load will bring: the load reads again instead of being applied over it.
 */
export class SerialReload<T> {
  private running?: Promise<void>;
  private queued?: Promise<void>;
  private changesHere = 0;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly apply: (loaded: T) => void,
  ) {}

  /** Resolves once a load started after this call is applied; rejects with that load's error. */
  reload(): Promise<void> {
    if (!this.running) return this.start();
    // Whether the current load succeeds or fails, the queued one runs after it.
    const next = () => this.startQueued();
    this.queued ??= this.running.then(next, next);
    return this.queued;
  }

  /** The copy was just changed directly: a load reading now is older than that change. */
  changedHere(): void {
    this.changesHere++;
  }

  private startQueued(): Promise<void> {
    this.queued = undefined;
    // A reload asked for in the instant between the two loads started one already, after our ask.
    return this.running ?? this.start();
  }

  private start(): Promise<void> {
    const run = this.loadOnce().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async loadOnce(): Promise<void> {
    for (;;) {
      const changesBefore = this.changesHere;
      const loaded = await this.read();
      if (this.changesHere === changesBefore) {
        this.apply(loaded);
        return;
      }
    }
  }
}

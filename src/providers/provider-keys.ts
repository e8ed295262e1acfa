import { Injectable, Logger } from '@nestjs/common';
import { CatalogService } from '../catalog/catalog.service';

type KeySlot = 'primary' | 'backup';

/** A provider refused every key the gateway has for it: its requests fail until one works again. */
export interface ProviderKeysRefused {
  provider: string;
  /** The slots it refused, never the keys. */
  keys: KeySlot[];
  /** Epoch ms of the first refusal of this outage; with the provider it identifies the outage. */
  since: number;
}
export type ProviderKeysRefusedListener = (event: ProviderKeysRefused) => void;

/**
 * Which of a provider's keys is in use. When the primary is refused (401) and the backup works, the
 * backup becomes the active key for every later request, so a key rotation costs no failed calls.
 */
@Injectable()
export class ProviderKeyRing {
  private readonly logger = new Logger(ProviderKeyRing.name);
  private readonly active = new Map<string, KeySlot>();
  /** Providers that refused every key, until one works: the outage is told once, not per request. */
  private readonly refusedSince = new Map<string, number>();
  private readonly refusedListeners = new Set<ProviderKeysRefusedListener>();

  constructor(private readonly catalog: CatalogService) {
    // A reload that changes a provider's keys starts it on its (new) primary again.
    catalog.onChange(({ previous, current }) => {
      const keysChanged = (id: string) => {
        const [before, after] = [previous.keys[id], current.keys[id]];
        return before?.primary !== after?.primary || before?.backup !== after?.backup;
      };
      for (const id of this.active.keys()) if (keysChanged(id)) this.active.delete(id);
      // New keys are a new start: refused again, they are told again.
      for (const id of this.refusedSince.keys()) if (keysChanged(id)) this.refusedSince.delete(id);
    });
  }

  activeKey(providerId: string): { slot: KeySlot; key: string } {
    const keys = this.catalog.keysFor(providerId);
    const slot = this.active.get(providerId) ?? 'primary';
    return slot === 'backup' && keys.backup ? { slot, key: keys.backup } : { slot: 'primary', key: keys.primary };
  }

  /** The key to try after `refused` got a 401, if the provider has one left. */
  alternativeTo(providerId: string, refused: KeySlot): { slot: KeySlot; key: string } | undefined {
    // A reload may have removed the provider while one of its calls was retrying: no other key then.
    const keys = this.catalog.current.keys[providerId];
    if (!keys) return undefined;
    if (refused === 'primary') return keys.backup ? { slot: 'backup', key: keys.backup } : undefined;
    return { slot: 'primary', key: keys.primary };
  }

  /**
   * Other modules learn that a provider refused every key by subscribing (alerts does): providers
   * know nothing of who listens.
   */
  onAllKeysRefused(listener: ProviderKeysRefusedListener): () => void {
    this.refusedListeners.add(listener);
    return () => this.refusedListeners.delete(listener);
  }

  /** A call got 401 with every key the provider has: told once per outage. */
  markAllRefused(providerId: string): void {
    if (this.refusedSince.has(providerId)) return;
    const since = Date.now();
    this.refusedSince.set(providerId, since);
    const keys = this.catalog.current.keys[providerId];
    const slots: KeySlot[] = keys?.backup ? ['primary', 'backup'] : ['primary'];
    this.logger.error(`provider "${providerId}" refused every key the gateway has for it (401)`);
    for (const listener of this.refusedListeners) listener({ provider: providerId, keys: slots, since });
  }

  markWorking(providerId: string, slot: KeySlot): void {
    this.refusedSince.delete(providerId);
    if ((this.active.get(providerId) ?? 'primary') === slot) return;
    this.active.set(providerId, slot);
    this.logger.warn(`provider "${providerId}" now uses its ${slot} key: the other was refused with 401`);
  }
}

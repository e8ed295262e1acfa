import { Injectable, Logger } from '@nestjs/common';
import { CatalogService } from '../catalog/catalog.service';

type KeySlot = 'primary' | 'backup';

/**
 * Which of a provider's keys is in use. When the primary is refused (401) and the backup works, the
 * backup becomes the active key for every later request, so a key rotation costs no failed calls.
 */
@Injectable()
export class ProviderKeyRing {
  private readonly logger = new Logger(ProviderKeyRing.name);
  private readonly active = new Map<string, KeySlot>();

  constructor(private readonly catalog: CatalogService) {
    // A reload that changes a provider's keys starts it on its (new) primary again.
    catalog.onChange(({ previous, current }) => {
      for (const id of this.active.keys()) {
        const [before, after] = [previous.keys[id], current.keys[id]];
        if (before?.primary !== after?.primary || before?.backup !== after?.backup) this.active.delete(id);
      }
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

  markWorking(providerId: string, slot: KeySlot): void {
    if ((this.active.get(providerId) ?? 'primary') === slot) return;
    this.active.set(providerId, slot);
    this.logger.warn(`provider "${providerId}" now uses its ${slot} key: the other was refused with 401`);
  }
}

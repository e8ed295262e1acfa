/** What started a reload. A replica that follows another's reload records itself in that reload's `replicas`. */
export type ReloadTrigger = 'api' | 'signal';
export const RELOAD_TRIGGERS: readonly ReloadTrigger[] = ['api', 'signal'];

/** applied: the new catalog is in force; unchanged: it equals the one in force; refused: the old one stays. */
export type ReloadOutcome = 'applied' | 'unchanged' | 'refused';
export const RELOAD_OUTCOMES: readonly ReloadOutcome[] = ['applied', 'unchanged', 'refused'];

/** One entry of a catalog that a reload added, removed or changed (`fields`: the entry's fields that differ). */
export interface CatalogChangeEntry {
  section: 'providers' | 'models' | 'policies' | 'simulator';
  id: string;
  change: 'added' | 'removed' | 'changed';
  fields?: string[];
}

/** How another replica took a reload it was told of. */
export interface ReplicaReload {
  instance: string;
  at: string;
  outcome: ReloadOutcome;
  sha256: string | null;
  problems: string[];
}

import type { CatalogDocument } from '../config/catalog.schema';
import type { CatalogChangeEntry } from './catalog-reload.types';

type Section = 'providers' | 'models' | 'policies';
const ID_FIELD: Record<Section, string> = { providers: 'id', models: 'id', policies: 'name' };

/** What a reload from `before` to `after` adds, removes and changes, entry by entry, in catalog order. */
export function catalogChanges(before: CatalogDocument, after: CatalogDocument): CatalogChangeEntry[] {
  const changes = (['providers', 'models', 'policies'] as const).flatMap((section) =>
    sectionChanges(section, before[section] as object[], after[section] as object[]),
  );
  const fields = changedFields(before.simulator ?? {}, after.simulator ?? {});
  if (fields.length > 0) {
    const change = !before.simulator ? 'added' : !after.simulator ? 'removed' : 'changed';
    changes.push({ section: 'simulator', id: 'simulator', change, ...(change === 'changed' ? { fields } : {}) });
  }
  return changes;
}

function sectionChanges(section: Section, before: object[], after: object[]): CatalogChangeEntry[] {
  const idOf = (entry: object) => String((entry as Record<string, unknown>)[ID_FIELD[section]]);
  const old = new Map(before.map((entry) => [idOf(entry), entry]));
  const now = new Map(after.map((entry) => [idOf(entry), entry]));
  const entries: CatalogChangeEntry[] = [];
  for (const [id, entry] of now) {
    const previous = old.get(id);
    if (!previous) entries.push({ section, id, change: 'added' });
    else {
      const fields = changedFields(previous, entry);
      if (fields.length > 0) entries.push({ section, id, change: 'changed', fields });
    }
  }
  for (const id of old.keys()) if (!now.has(id)) entries.push({ section, id, change: 'removed' });
  return entries;
}

/** Top-level fields whose values differ (compared as JSON, whatever the order of keys). */
function changedFields(before: object, after: object): string[] {
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return names.filter((name) => canonical(a[name]) !== canonical(b[name])).sort();
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([x], [y]) => x.localeCompare(y)))
      : item,
  );
}

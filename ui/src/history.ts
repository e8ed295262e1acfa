/** What the flags page reads into a person's words: DOM-free, unit-tested (history.spec.ts). */
export interface Flag {
  key: string;
  description: string;
  enabled: boolean;
  variants: Record<string, string | { model: string }>;
  defaultVariant: string;
  rollout: Record<string, number>;
  rules: unknown[];
  version: number;
  policy: string | null;
  archivedAt: string | null;
}

export interface HistoryEntry {
  id: number;
  version: number;
  action: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
  actor: string;
  source: string;
  reason: string | null;
  at: string;
}

/** What a person reads in a change: the fields that differ, each before → after. */
const FIELDS = ['enabled', 'rollout', 'variants', 'defaultVariant', 'rules', 'description'];

export function changesOf(entry: HistoryEntry): Array<{ field: string; before: string; after: string }> {
  if (!entry.before) return [{ field: 'created', before: '', after: show(entry.after.variants) }];
  const changes = FIELDS.filter((field) => show(entry.before![field]) !== show(entry.after[field])).map((field) => ({
    field,
    before: show(entry.before![field]),
    after: show(entry.after[field]),
  }));
  // When is the entry's own time: what a reader wants is that the flag is archived now.
  const archived = (snapshot: Record<string, unknown>) => (snapshot.archivedAt ? 'yes' : 'no');
  if (archived(entry.before) !== archived(entry.after))
    changes.push({ field: 'archived', before: archived(entry.before), after: archived(entry.after) });
  return changes;
}

function show(value: unknown): string {
  if (value === undefined) return '';
  if (value && typeof value === 'object' && !Array.isArray(value))
    if (Object.keys(value).length === 0) return '(none)';
    else
      return Object.entries(value as Record<string, unknown>)
        .map(([key, inner]) => `${key}: ${typeof inner === 'object' ? JSON.stringify(inner) : String(inner)}`)
        .join(', ');
  return JSON.stringify(value);
}

/** Each variant's share of users now, as the evaluator deals them (src/policies/policy-map.ts weightsOf). */
export function weightsOf(flag: Flag): Record<string, number> {
  const weights: Record<string, number> = Object.fromEntries(Object.keys(flag.variants).map((name) => [name, 0]));
  if (!flag.enabled) return { ...weights, [flag.defaultVariant]: 100 };
  let given = 0;
  for (const [name, percent] of Object.entries(flag.rollout)) {
    weights[name] = percent;
    given += percent;
  }
  weights[flag.defaultVariant] = Math.round((weights[flag.defaultVariant] + 100 - given) * 100) / 100;
  return weights;
}

/**
 * What a key may do. `gateway`: /v1/* (completions and models). `read`: GET on /api/* and /metrics.
 * `admin`: everything, so it implies the other two.
 */
export const SCOPES = ['gateway', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.includes('admin') || scopes.includes(needed);
}

/** The authenticated key, as controllers see it (`@Caller()`) and as history records it (`actor`). */
export interface AuthenticatedCaller {
  id: string;
  name: string;
  prefix: string;
  scopes: readonly Scope[];
  /** null: every policy. */
  policies: readonly string[] | null;
  /** What history rows record as who made a change: `key:<id> (<name>)`. */
  actor: string;
}

export function actorOf(key: { id: string; name: string }): string {
  return `key:${key.id} (${key.name})`;
}

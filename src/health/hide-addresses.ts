import type { HealthIndicatorResult } from '@nestjs/terminus';

/** IPv4, bracketed IPv6 and dotted host names, with an optional port. */
const ADDRESS = /(?:\b\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]|\b[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::\d{1,5})?\b/g;

/**
 * /health is open to anyone who can reach the port, so its answers must not reveal where the
 * database or providers live: driver errors such as `connect ECONNREFUSED 10.0.3.7:5432` become
 * `connect ECONNREFUSED <address>`. The full message still goes to the log.
 */
export function hideAddresses<T extends HealthIndicatorResult>(result: T): T {
  return scrub(result) as T;
}

function scrub(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(ADDRESS, '<address>');
  if (Array.isArray(value)) return value.map(scrub);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
  return value;
}

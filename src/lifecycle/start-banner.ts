import { isIPv6 } from 'node:net';

export interface BannerFacts {
  /** HOST as configured: the address the server is bound to. */
  host: string;
  /** The port actually bound (PORT=0 picks one). */
  port: number;
  /** SWITCHYARD_ADMIN_KEY is set. */
  adminKeyFromEnvironment: boolean;
  /** Data folder of the embedded Postgres; undefined with DATABASE_URL. */
  embeddedDataDir?: string;
  /** Gateway processes sharing the port (WORKERS); 1 by default. */
  workers?: number;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * A URL that reaches a server bound to `host` from this machine: a wildcard address is not
 * something to browse to (http://0.0.0.0:3000 fails in some browsers), so it becomes localhost.
 */
export function reachableUrl(host: string, port: number): string {
  if (WILDCARDS.has(host)) return `http://localhost:${port}`;
  return `http://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * What a newcomer needs after `npm start`, printed last so it is what they see: where the API is,
 * the control room, where its docs are, where the admin key is, and how to stop.
 */
export function startBanner(facts: BannerFacts): string {
  const url = reachableUrl(facts.host, facts.port);
  const bound = WILDCARDS.has(facts.host) ? `all interfaces, port ${facts.port}` : `${facts.host}:${facts.port} only`;
  const adminKey = facts.adminKeyFromEnvironment
    ? 'the value of SWITCHYARD_ADMIN_KEY'
    : 'printed once, above, by the first start on this database (lost it? set SWITCHYARD_ADMIN_KEY and restart)';
  const database = facts.embeddedDataDir
    ? `embedded Postgres, data in ${facts.embeddedDataDir}`
    : 'the Postgres server at DATABASE_URL';
  const workers = facts.workers ?? 1;
  return [
    `Switchyard is ready at ${url} (listening on ${bound})`,
    `  Control room: ${url}/ui (sign in with a read or admin key)`,
    `  API docs:   ${url}/docs`,
    `  Admin key:  ${adminKey}; send it as "Authorization: Bearer <key>"`,
    `  Database:   ${database}`,
    ...(workers > 1 ? [`  Workers:    ${workers} gateway processes share the port (WORKERS)`] : []),
    '  Stop:       Ctrl-C (requests in flight finish and their rows are written first)',
  ].join('\n');
}

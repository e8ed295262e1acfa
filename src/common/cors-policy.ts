import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CorsOptions } from '@nestjs/common/interfaces/external/cors-options.interface';
import type { AccessConfig } from '../config/access.config';

/** Headers a browser app may read from our answers when CORS is on. */
const EXPOSED_HEADERS = [
  'x-switchyard-request-id',
  'x-switchyard-policy',
  'x-switchyard-flag',
  'x-switchyard-variant',
  'x-switchyard-model',
  'x-switchyard-provider',
  'x-switchyard-attempts',
  'x-switchyard-fallback',
  'retry-after',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
];

const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'x-switchyard-policy',
  'x-user-id',
  'x-request-id',
  'x-change-reason',
];

/**
 * The CORS settings of every route, from CORS_ORIGINS; undefined when CORS is off. Bootstrap gives
 * them to Express (`enableCors`), and the completions entrance, which answers before Express, adds
 * the same headers through `CorsHeaders`.
 */
export function corsOptionsOf(access: AccessConfig): CorsOptions | undefined {
  if (access.corsOrigins.length === 0) return undefined;
  return {
    origin: access.corsOrigins.includes('*') ? '*' : access.corsOrigins,
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  };
}

/**
 * The headers Express's `cors` middleware adds to an actual (not preflight) request, for the options
 * above: `Access-Control-Allow-Origin` (`*`, or the request's Origin when it is allowed, with
 * `Vary: Origin`) and `Access-Control-Expose-Headers`. Preflights (OPTIONS) still go to Express.
 */
export class CorsHeaders {
  private readonly anyOrigin: boolean;
  private readonly origins: ReadonlySet<string>;
  private readonly exposed: string;

  constructor(options: CorsOptions) {
    this.anyOrigin = options.origin === '*';
    this.origins = new Set(Array.isArray(options.origin) ? (options.origin as string[]) : []);
    this.exposed = (options.exposedHeaders as string[]).join(',');
  }

  apply(req: IncomingMessage, res: ServerResponse): void {
    if (this.anyOrigin) {
      res.setHeader('access-control-allow-origin', '*');
    } else {
      const origin = req.headers.origin;
      if (origin !== undefined && this.origins.has(origin)) res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
    }
    res.setHeader('access-control-expose-headers', this.exposed);
  }
}

import { Pool } from 'undici';
import type { CatalogProvider } from '../config/catalog.schema';

/** Connections kept open per provider: a TCP (and TLS) handshake per call would dominate the added latency. */
const CONNECTIONS_PER_PROVIDER = 256;
const KEEP_ALIVE_MS = 30_000;

interface ProviderPool {
  pool: Pool;
  baseUrl: string;
  /** The base URL's path (`/v1`), which every request path starts with. */
  basePath: string;
}

/** An undici keep-alive pool per provider, made on first use. */
export class ProviderPools {
  private readonly pools = new Map<string, ProviderPool>();

  for(provider: CatalogProvider): ProviderPool {
    let entry = this.pools.get(provider.id);
    if (!entry) {
      const url = new URL(provider.baseUrl);
      const pool = new Pool(url.origin, {
        connections: CONNECTIONS_PER_PROVIDER,
        keepAliveTimeout: KEEP_ALIVE_MS,
        pipelining: 1,
      });
      entry = { pool, baseUrl: provider.baseUrl, basePath: url.pathname.replace(/\/$/, '') };
      this.pools.set(provider.id, entry);
    }
    return entry;
  }

  /**
   * After a catalog reload: the pool of a provider that is gone or moved to another URL finishes the
   * calls it carries, then closes; the next call makes a new one.
   */
  keepOnly(providers: readonly CatalogProvider[]): void {
    for (const [id, entry] of this.pools) {
      if (providers.find((provider) => provider.id === id)?.baseUrl === entry.baseUrl) continue;
      this.pools.delete(id);
      void entry.pool.close().catch(() => undefined);
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.pools.values()].map(({ pool }) => pool.close()));
    this.pools.clear();
  }
}

import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { type HealthIndicatorFunction, HealthIndicatorService } from '@nestjs/terminus';
import { isAxiosError } from 'axios';
import { firstValueFrom } from 'rxjs';
import { CatalogService } from '../catalog/catalog.service';

const PROBE_TIMEOUT_MS = 2000;

/** What probing one provider found: whether a key of ours works, and what to say about it. */
interface ProviderProbe {
  up: boolean;
  details: Record<string, string>;
}

/**
 * A provider is up when its `/models` answers 2xx to one of our keys. A refused primary key with a
 * working backup is up: the gateway switches to the backup on the first 401 and serves every
 * request through it; the details say which key answers.
 *
 * A provider that answers to neither key makes the replica `degraded`, not unready, while another
 * provider is up: every replica shares the provider, so taking replicas out of the load balancer
 * would not route around the outage — it would add one for the other providers' models and for
 * fallbacks. Only when no provider answers is the replica unready.
 */
@Injectable()
export class ProviderHealthIndicator {
  constructor(
    private readonly http: HttpService,
    private readonly catalog: CatalogService,
    private readonly health: HealthIndicatorService,
  ) {}

  checks(): HealthIndicatorFunction[] {
    const providers = this.catalog.listProviders();
    const probes = new Map(
      providers.map((provider) => [provider.id, this.probeProvider(provider.id, provider.baseUrl)]),
    );
    const anyUp = Promise.all(probes.values()).then((results) => results.some((result) => result.up));
    return providers.map((provider) => async () => {
      const indicator = this.health.check(`provider:${provider.id}`);
      const probe = await probes.get(provider.id)!;
      if (probe.up) return indicator.up(probe.details);
      if (await anyUp)
        return indicator.degraded({
          ...probe.details,
          servable: "yes: other providers answer; this provider's models fail over to their fallbacks",
        });
      return indicator.down(probe.details);
    });
  }

  private async probeProvider(providerId: string, baseUrl: string): Promise<ProviderProbe> {
    const keys = this.catalog.keysFor(providerId);
    const primary = await this.probe(baseUrl, keys.primary);
    if (primary.ok) return { up: true, details: {} };
    const refused = primary.status === 401 || primary.status === 403;
    if (!refused || !keys.backup) return { up: false, details: { message: primary.reason } };
    const backup = await this.probe(baseUrl, keys.backup);
    if (backup.ok) {
      return {
        up: true,
        details: {
          key: 'backup',
          message: `the primary key is refused (${primary.reason}); requests go through the backup key`,
        },
      };
    }
    return { up: false, details: { message: `primary key: ${primary.reason}; backup key: ${backup.reason}` } };
  }

  private async probe(baseUrl: string, key: string): Promise<{ ok: boolean; status?: number; reason: string }> {
    try {
      const response = await firstValueFrom(
        this.http.get(`${baseUrl.replace(/\/$/, '')}/models`, {
          headers: { authorization: `Bearer ${key}` },
          timeout: PROBE_TIMEOUT_MS,
          validateStatus: () => true,
        }),
      );
      const ok = response.status >= 200 && response.status < 300;
      return { ok, status: response.status, reason: `GET /models answered ${response.status}` };
    } catch (error) {
      // Only the error code: an axios error carries the request headers, and with them our key.
      const reason = isAxiosError(error) ? (error.code ?? 'request failed') : 'request failed';
      return { ok: false, reason: `GET /models failed: ${reason}` };
    }
  }
}

import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { type HealthIndicatorFunction, HealthIndicatorService } from '@nestjs/terminus';
import { isAxiosError } from 'axios';
import { firstValueFrom } from 'rxjs';
import { CatalogService } from '../catalog/catalog.service';

const PROBE_TIMEOUT_MS = 2000;

/**
 * A provider is ready when its `/models` answers 2xx to one of our keys. A refused primary key with
 * a working backup is up: the gateway switches to the backup on the first 401 and serves every
 * request through it, so the replica can serve; the details say which key answers.
 */
@Injectable()
export class ProviderHealthIndicator {
  constructor(
    private readonly http: HttpService,
    private readonly catalog: CatalogService,
    private readonly health: HealthIndicatorService,
  ) {}

  checks(): HealthIndicatorFunction[] {
    return this.catalog.listProviders().map((provider) => () => this.check(provider.id, provider.baseUrl));
  }

  private async check(providerId: string, baseUrl: string) {
    const indicator = this.health.check(`provider:${providerId}`);
    const keys = this.catalog.keysFor(providerId);
    const primary = await this.probe(baseUrl, keys.primary);
    if (primary.ok) return indicator.up();
    const refused = primary.status === 401 || primary.status === 403;
    if (!refused || !keys.backup) return indicator.down({ message: primary.reason });
    const backup = await this.probe(baseUrl, keys.backup);
    if (backup.ok) {
      return indicator.up({
        key: 'backup',
        message: `the primary key is refused (${primary.reason}); requests go through the backup key`,
      });
    }
    return indicator.down({ message: `primary key: ${primary.reason}; backup key: ${backup.reason}` });
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

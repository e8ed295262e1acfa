import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { type HealthIndicatorFunction, HealthIndicatorService } from '@nestjs/terminus';
import { isAxiosError } from 'axios';
import { firstValueFrom } from 'rxjs';
import { CatalogService } from '../catalog/catalog.service';

const PROBE_TIMEOUT_MS = 2000;

/** A provider is ready when its `/models` answers 2xx to our key. */
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
    try {
      const response = await firstValueFrom(
        this.http.get(`${baseUrl.replace(/\/$/, '')}/models`, {
          headers: { authorization: `Bearer ${this.catalog.keysFor(providerId).primary}` },
          timeout: PROBE_TIMEOUT_MS,
          validateStatus: () => true,
        }),
      );
      if (response.status >= 200 && response.status < 300) return indicator.up();
      return indicator.down({ message: `GET /models answered ${response.status}` });
    } catch (error) {
      // Only the error code: an axios error carries the request headers, and with them our key.
      const reason = isAxiosError(error) ? (error.code ?? 'request failed') : 'request failed';
      return indicator.down({ message: `GET /models failed: ${reason}` });
    }
  }
}

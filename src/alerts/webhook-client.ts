import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { parseRetryAfterMs } from '@switchyard/retry';
import { isAxiosError } from 'axios';
import { firstValueFrom } from 'rxjs';
import { urlOrigin } from './webhook-url';

export interface WebhookResult {
  /** 2xx. */
  ok: boolean;
  /** The webhook's answer; undefined when none came. */
  status?: number;
  /** Null on success. Names the origin, never the URL. */
  error: string | null;
  retryAfterMs?: number;
  durationMs: number;
}

const ERROR_BODY_PREVIEW = 200;

/**
 * Posts one webhook body (the HTTP side of the sender, behind an injectable so the sender is plain
 * logic). Never throws, and never lets the URL or the request (which carries the signature) into an
 * error message: axios errors hold both, so only their code is used.
 */
@Injectable()
export class WebhookClient {
  constructor(private readonly http: HttpService) {}

  async post(url: string, body: Buffer, headers: Record<string, string>, timeoutMs: number): Promise<WebhookResult> {
    const started = Date.now();
    const origin = urlOrigin(url);
    try {
      const response = await firstValueFrom(
        this.http.post<string>(url, body, {
          headers,
          // Socket-idle timeout, plus a hard deadline for a webhook that answers byte by byte.
          timeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
          // A redirected POST is not a delivery (and following it could turn it into a GET).
          maxRedirects: 0,
          validateStatus: () => true,
          responseType: 'text',
          transformResponse: (data: unknown) => data,
          // The body is already the exact bytes that were signed.
          transformRequest: (data: unknown) => data,
        }),
      );
      const durationMs = Date.now() - started;
      if (response.status >= 200 && response.status < 300)
        return { ok: true, status: response.status, error: null, durationMs };
      const preview = String(response.data ?? '')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, ERROR_BODY_PREVIEW);
      return {
        ok: false,
        status: response.status,
        error: `${origin} answered ${response.status}${preview ? `: ${preview}` : ''}`,
        retryAfterMs: parseRetryAfterMs(response.headers as Record<string, string>),
        durationMs,
      };
    } catch (error) {
      const durationMs = Date.now() - started;
      const code = isAxiosError(error) ? error.code : (error as { code?: string; name?: string })?.code;
      const timedOut =
        code === 'ECONNABORTED' ||
        code === 'ETIMEDOUT' ||
        code === 'ERR_CANCELED' ||
        (error as Error)?.name === 'TimeoutError';
      const reason = timedOut
        ? `${origin} did not answer within ${timeoutMs} ms`
        : `could not reach ${origin} (${code ?? 'request failed'})`;
      return { ok: false, error: reason, durationMs };
    }
  }
}

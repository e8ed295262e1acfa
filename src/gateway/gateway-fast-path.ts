import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { OpenAiError } from '../common/openai-error';
import { assignRequestId } from '../common/request-id';
import { appConfig, type AppConfig } from '../config/app.config';
import { GatewayService } from './gateway.service';

export const CHAT_COMPLETIONS_PATH = '/v1/chat/completions';

/**
 * Serves `POST /v1/chat/completions` straight from Node's HTTP server, ahead of Express. The router,
 * middleware chain and per-request logger of the framework cost more CPU than the whole proxy work
 * (measured by `npm run bench`, see README), and this is the path every team's traffic takes. It
 * calls the same GatewayService as GatewayController, which still serves any other spelling of the
 * URL (trailing slash, query string) through Nest.
 */
@Injectable()
export class GatewayFastPath {
  constructor(
    private readonly gateway: GatewayService,
    @Inject(appConfig.KEY) private readonly config: AppConfig,
  ) {}

  /**
   * With CORS on, browser requests (they carry Origin) go through Express, whose CORS middleware adds
   * the Access-Control-* headers; they are few, and servers calling the gateway send no Origin.
   */
  install(server: Server, options: { corsEnabled: boolean }): void {
    const framework = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const fast =
        req.method === 'POST' && req.url === CHAT_COMPLETIONS_PATH && !(options.corsEnabled && req.headers.origin);
      if (fast) void this.handle(req, res);
      else for (const listener of framework) listener(req, res);
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = assignRequestId(req, res);
    (req as IncomingMessage & { id: string }).id = requestId;
    return this.gateway.handle(req, res, () =>
      readJsonBody(req, this.config.requestBodyLimitBytes, this.config.requestBodyLimit),
    );
  }
}

function readJsonBody(req: IncomingMessage, limitBytes: number, limitName: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limitBytes) return reject(tooLarge(limitName));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.removeAllListeners('data');
        reject(tooLarge(limitName));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
      } catch {
        reject(OpenAiError.invalidRequest('The request body is not valid JSON.', null, 'invalid_json'));
      }
    });
  });
}

function tooLarge(limit: string): OpenAiError {
  return new OpenAiError(413, {
    message: `The request body is larger than ${limit} (REQUEST_BODY_LIMIT).`,
    type: 'invalid_request_error',
    code: 'request_too_large',
    param: null,
  });
}

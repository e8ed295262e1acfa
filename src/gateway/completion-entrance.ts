import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CorsHeaders, corsOptionsOf } from '../common/cors-policy';
import { REQUEST_ID_HEADER, requestIdFor } from '../common/request-id';
import { accessConfig, type AccessConfig } from '../config/access.config';
import { setAnswerHeader } from './answer-headers';
import { CompletionPipeline } from './completion-pipeline';

export const CHAT_COMPLETIONS_PATH = '/v1/chat/completions';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The one entrance of `POST /v1/chat/completions`: installed on Node's HTTP server ahead of Express,
 * it takes every spelling of the URL Express would route to that path (trailing slash, query string,
 * any letter case), with or without CORS, into CompletionPipeline; everything else goes on to Express.
 * Express's router, middleware chain and per-request logger cost more CPU than the whole proxy work
 * (`npm run bench`), and this is the path every team's traffic takes. GatewayController keeps the
 * route only to document it in Swagger.
 *
 * With CORS on, the entrance adds the headers Express's cors middleware would (same options, from
 * `corsOptionsOf`); preflights are OPTIONS requests and still go to Express, which answers them.
 */
@Injectable()
export class CompletionEntrance {
  private readonly logger = new Logger(CompletionEntrance.name);
  private readonly cors: CorsHeaders | undefined;

  constructor(
    private readonly pipeline: CompletionPipeline,
    @Inject(accessConfig.KEY) access: AccessConfig,
  ) {
    const options = corsOptionsOf(access);
    this.cors = options && new CorsHeaders(options);
    this.reportCrash = this.reportCrash.bind(this);
  }

  install(server: Server): void {
    const framework = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.method === 'POST' && isChatCompletionsUrl(req.url)) this.enter(req, res);
      else for (const listener of framework) listener(req, res);
    });
  }

  private enter(req: IncomingMessage, res: ServerResponse): void {
    const id = requestIdFor(req);
    (req as IncomingMessage & { id: string }).id = id;
    setAnswerHeader(res, REQUEST_ID_HEADER, id);
    this.cors?.apply(req, res);
    this.pipeline.handle(req, res).catch(this.reportCrash);
  }

  /** The pipeline answers every error itself; reaching this is a bug, logged rather than crashing the process. */
  private reportCrash(error: unknown): void {
    this.logger.error({ err: error }, 'the completion pipeline failed outside its own error handling');
  }
}

/**
 * Whether Express would route `url` to /v1/chat/completions: its router ignores the query string, one
 * trailing slash and letter case, and reads the path of an absolute-form URL. The exact spelling,
 * by far the most common, is decided without allocating anything.
 */
export function isChatCompletionsUrl(url: string | undefined): boolean {
  if (url === CHAT_COMPLETIONS_PATH) return true;
  if (url === undefined) return false;
  let path = url;
  if (path.startsWith('http://') || path.startsWith('https://')) {
    try {
      path = new URL(path).pathname;
    } catch {
      return false;
    }
  }
  const query = path.indexOf('?');
  if (query !== -1) path = path.slice(0, query);
  if (path.length === CHAT_COMPLETIONS_PATH.length + 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path.length === CHAT_COMPLETIONS_PATH.length && path.toLowerCase() === CHAT_COMPLETIONS_PATH;
}

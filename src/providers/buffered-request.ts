import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { type Cancellation, ClientAbortedError } from './cancellation';

export interface BufferedResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The attempt's time budget ran out before the whole answer arrived. */
export class AttemptTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
    this.name = 'AttemptTimeoutError';
  }
}

/** The answer grew past the bound before it ended: the rest is not read. */
export class AnswerTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`the answer grew past ${limitBytes} bytes`);
    this.name = 'AnswerTooLargeError';
  }
}

/**
 * One upstream request whose whole answer is read into a Buffer, through undici's dispatch API. A
 * non-streamed completion is small and needed whole (its usage, or its error), so the Readable stream
 * and AbortSignal that `request()` builds per call are pure overhead on the gateway's hottest path
 * (docs/benchmarks.md). Rejects with AttemptTimeoutError after `timeoutMs`, with AnswerTooLargeError
 * (the request aborted) once more than `limitBytes` arrived, with ClientAbortedError when `clientGone`
 * is cancelled, or with undici's own error when the connection fails.
 */
export function requestBuffered(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  clientGone: Cancellation,
  timeoutMs: number,
  limitBytes = Number.POSITIVE_INFINITY,
): Promise<BufferedResponse> {
  return new Promise((resolve, reject) => {
    if (clientGone.isCancelled) return reject(new ClientAbortedError());
    let controller: Dispatcher.DispatchController | undefined;
    /** Why we gave up early; the request is aborted as soon as undici hands us its controller. */
    let abandoned: Error | undefined;
    let settled = false;
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let received = 0;

    const settle = (error: Error | undefined, response?: BufferedResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopWatchingClient();
      if (error) reject(error);
      else resolve(response as BufferedResponse);
    };
    const abandon = (reason: Error) => {
      abandoned ??= reason;
      controller?.abort(reason);
      settle(reason);
    };
    const timer = setTimeout(() => abandon(new AttemptTimeoutError(timeoutMs)), timeoutMs);
    const stopWatchingClient = clientGone.onCancel(() => abandon(new ClientAbortedError()));

    dispatcher.dispatch(options, {
      onRequestStart(started) {
        controller = started;
        if (abandoned) started.abort(abandoned);
      },
      onResponseStart(_controller, status, responseHeaders) {
        statusCode = status;
        headers = responseHeaders;
      },
      onResponseData(_controller, chunk) {
        received += chunk.length;
        if (received > limitBytes) return abandon(new AnswerTooLargeError(limitBytes));
        chunks.push(chunk);
      },
      onResponseEnd() {
        settle(undefined, { statusCode, headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) });
      },
      onResponseError(_controller, error) {
        settle(abandoned ?? error);
      },
    });
  });
}

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Node answers what it cannot parse itself — headers over its 16 KB limit, a malformed request line
 * or chunk, an `Expect` other than 100-continue, a request not received within `requestTimeout` —
 * with a bare status line and no body, before any route sees the request. These handlers give the
 * same cases a body that says what was wrong, in the shape OpenAI clients read (`error.message`,
 * `type`, `code`): the path is not known yet, and both kinds of client find the message there.
 */
export function answerParseErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Node's own rule: write only while no response to this connection has started.
    const pending = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (error.code !== 'ECONNRESET' && socket.writable && !pending?.headersSent) {
      const { status, reason, code, message } = answerOf(error.code);
      socket.write(rawAnswer(status, reason, code, message));
      // A request whose body was refused half-way (a broken chunk) is in a route's hands: its
      // record must say what the client got, not that the client left.
      if (pending) (pending as Answered)[PARSE_ERROR_ANSWER] = { status, code };
    }
    socket.destroy(error);
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = bodyOf(
      'expectation_failed',
      `Expect: ${JSON.stringify(String(req.headers.expect).slice(0, 100))} is not supported; only 100-continue is.`,
    );
    res.writeHead(417, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body);
  });
}

const PARSE_ERROR_ANSWER = Symbol('switchyard.parseErrorAnswer');
type Answered = ServerResponse & { [PARSE_ERROR_ANSWER]?: ParseErrorAnswer };

/** What the client of a request Node refused mid-body was answered, on the socket. */
export interface ParseErrorAnswer {
  status: number;
  code: string;
}

/** Set when Node's parser refused the rest of `res`'s request and the answer above went out instead. */
export function parseErrorAnswerOf(res: ServerResponse): ParseErrorAnswer | undefined {
  return (res as Answered)[PARSE_ERROR_ANSWER];
}

function answerOf(code: string | undefined): { status: number; reason: string; code: string; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        reason: 'Request Header Fields Too Large',
        code: 'request_headers_too_large',
        message: 'The request headers are larger than 16 KB in all; send fewer or shorter headers.',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        reason: 'Request Timeout',
        code: 'request_timeout',
        message: 'The request did not arrive in time; send it whole, without pauses.',
      };
    default:
      return {
        status: 400,
        reason: 'Bad Request',
        code: 'malformed_http',
        message: `The request is not valid HTTP/1.1 (${code ?? 'unparsable'}); check the request line, headers and chunked body.`,
      };
  }
}

function bodyOf(code: string, message: string): string {
  return JSON.stringify({ error: { message, type: 'invalid_request_error', code, param: null } });
}

function rawAnswer(status: number, reason: string, code: string, message: string): string {
  const body = bodyOf(code, message);
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

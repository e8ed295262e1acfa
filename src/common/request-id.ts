import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const REQUEST_ID_HEADER = 'x-switchyard-request-id';
const ACCEPTABLE_INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Every response carries a request id; a caller's own `x-request-id` is kept when it is sane, so one
 * id follows a request through the caller's logs and ours.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const id = requestIdFor(req);
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** The id of a request: the caller's `x-request-id` when it is sane, else a new one. */
export function requestIdFor(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && ACCEPTABLE_INCOMING_ID.test(incoming) ? incoming : randomUUID();
}

export function requestIdOf(req: IncomingMessage): string {
  return String((req as IncomingMessage & { id?: unknown }).id ?? '');
}

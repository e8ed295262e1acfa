import type { IncomingMessage } from 'node:http';
import { pathDeeperThan } from '../common/json-depth';
import { InvalidJson, RequestTooDeep, RequestTooLarge } from './gateway.errors';

/** The client went away before it had sent the whole body; nobody is left to answer. */
export class BodyAbandoned extends Error {
  constructor() {
    super('the client closed the connection before sending the whole body');
    this.name = 'BodyAbandoned';
  }
}

/**
 * Reads and parses a JSON request body: RequestTooLarge over `limitBytes` (checked on the declared
 * length first, so a huge body is refused before it is read), InvalidJson when it does not parse,
 * RequestTooDeep when it nests deeper than MAX_JSON_DEPTH (iterative check: no stack overflow).
 */
export function readJsonBody(req: IncomingMessage, limitBytes: number, limitName: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > limitBytes) return reject(new RequestTooLarge(limitName));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        // The rest is drained and dropped: destroying the request would take the 413 with it.
        req.removeAllListeners('data');
        req.resume();
        reject(new RequestTooLarge(limitName));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => reject(new BodyAbandoned()));
    req.on('close', () => {
      if (!req.complete) reject(new BodyAbandoned());
    });
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
      } catch {
        return reject(new InvalidJson());
      }
      const deep = pathDeeperThan(body);
      if (deep !== undefined) return reject(new RequestTooDeep(deep));
      resolve(body);
    });
  });
}

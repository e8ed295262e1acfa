import type { IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { pathDeeperThan } from '../common/json-depth';
import { InvalidJson, JsonTooDeep, RequestTooLarge } from '../common/request-errors';

/** Bodies larger than this are decoded and parsed in steps, each on its own turn of the event loop. */
const LARGE_BODY_BYTES = 64 * 1024;

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
 * JsonTooDeep when it nests deeper than MAX_JSON_DEPTH (iterative check: no stack overflow).
 */
export function readJsonBody(req: IncomingMessage, limitBytes: number, limitName: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > limitBytes) return reject(new RequestTooLarge(limitName));
    const chunks: Buffer[] = [];
    let size = 0;
    // A large body is decoded as it arrives, a piece per chunk, rather than all at once at the end.
    let decoder: StringDecoder | undefined;
    let decoded = '';
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        // The rest is drained and dropped: destroying the request would take the 413 with it.
        refused = true;
        chunks.length = 0;
        decoded = '';
        req.removeAllListeners('data');
        req.resume();
        reject(new RequestTooLarge(limitName));
        return;
      }
      if (decoder) {
        decoded += decoder.write(chunk);
        return;
      }
      chunks.push(chunk);
      if (size > LARGE_BODY_BYTES) {
        decoder = new StringDecoder('utf8');
        decoded = decoder.write(Buffer.concat(chunks, size));
      }
    });
    req.on('error', () => reject(new BodyAbandoned()));
    req.on('close', () => {
      if (!req.complete) reject(new BodyAbandoned());
    });
    req.on('end', () => {
      if (refused) return;
      if (!decoder) return settleJson(Buffer.concat(chunks, size).toString('utf8'), resolve, reject);
      // Parsing takes a few ms more: other requests get the event loop first.
      const text = decoded + decoder.end();
      setImmediate(() => settleJson(text, resolve, reject));
    });
  });
}

function settleJson(text: string, resolve: (body: unknown) => void, reject: (error: Error) => void): void {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return reject(new InvalidJson());
  }
  const deep = pathDeeperThan(body);
  if (deep !== undefined) return reject(new JsonTooDeep(deep));
  if (text.length > LARGE_BODY_BYTES) setImmediate(resolve, body);
  else resolve(body);
}

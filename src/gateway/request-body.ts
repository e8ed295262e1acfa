import type { IncomingMessage } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { pathDeeperThan } from '../common/json-depth';
import { InvalidJson, JsonTooDeep, RequestTooLarge } from '../common/request-errors';
import { MESSAGES_AS_SENT_FROM_BYTES } from './chat-request';
import { JsonSkeleton } from './json-skeleton';

/** Bodies larger than this are parsed on a turn of the event loop of their own. */
const LARGE_BODY_BYTES = 64 * 1024;

/** The client went away before it had sent the whole body; nobody is left to answer. */
export class BodyAbandoned extends Error {
  constructor() {
    super('the client closed the connection before sending the whole body');
    this.name = 'BodyAbandoned';
  }
}

/** A request body: its parse, and the bytes it came as (parts of which can pass on unparsed). */
export interface JsonBody {
  value: unknown;
  bytes: Buffer;
}

/**
 * Reads and parses a JSON request body: RequestTooLarge over `limitBytes` (checked on the declared
 * length first, so a huge body is refused before it is read), InvalidJson when it is not UTF-8 or
 * does not parse, JsonTooDeep when it nests deeper than MAX_JSON_DEPTH (iterative check: no stack
 * overflow). From MESSAGES_AS_SENT_FROM_BYTES on, where the messages pass upstream as the client's
 * bytes, their long texts are left in the bytes too (JsonSkeleton, JsonText): checked, measured,
 * and decoded only if something reads them.
 */
export function readJsonBody(req: IncomingMessage, limitBytes: number, limitName: string): Promise<JsonBody> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > limitBytes) return reject(new RequestTooLarge(limitName));
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        // The rest is drained and dropped: destroying the request would take the 413 with it.
        refused = true;
        chunks.length = 0;
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
      if (refused) return;
      const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      if (bytes.length <= LARGE_BODY_BYTES) return settleJson(bytes, resolve, reject);
      // Parsing takes a little longer: other requests get the event loop first.
      setImmediate(settleJson, bytes, resolve, reject);
    });
  });
}

function settleJson(bytes: Buffer, resolve: (body: JsonBody) => void, reject: (error: Error) => void): void {
  try {
    resolve({ value: parseJsonBody(bytes), bytes });
  } catch (error) {
    reject(error as Error);
  }
}

/** A whole body's bytes as JSON (readJsonBody's parse): throws InvalidJson or JsonTooDeep. */
export function parseJsonBody(bytes: Buffer): unknown {
  if (!isUtf8(bytes)) throw new InvalidJson('it is not UTF-8');
  let skeleton: JsonSkeleton | undefined;
  if (bytes.length >= MESSAGES_AS_SENT_FROM_BYTES) {
    skeleton = JsonSkeleton.of(bytes);
    if (!skeleton) throw new InvalidJson();
  }
  let value: unknown;
  try {
    value = JSON.parse(skeleton ? skeleton.json : bytes.toString('utf8'));
  } catch {
    throw new InvalidJson();
  }
  const deep = pathDeeperThan(value);
  if (deep !== undefined) throw new JsonTooDeep(deep);
  return skeleton ? skeleton.restore(value) : value;
}

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

/** A request body: its parse, and the bytes it came as (parts of which can pass on unparsed). */
export interface JsonBody {
  value: unknown;
  bytes: Buffer;
}

/**
 * Reads and parses a JSON request body: RequestTooLarge over `limitBytes` (checked on the declared
 * length first, so a huge body is refused before it is read), InvalidJson when it does not parse,
 * JsonTooDeep when it nests deeper than MAX_JSON_DEPTH (iterative check: no stack overflow).
 */
export function readJsonBody(req: IncomingMessage, limitBytes: number, limitName: string): Promise<JsonBody> {
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
      chunks.push(chunk);
      if (decoder) {
        decoded += decoder.write(chunk);
        return;
      }
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
      const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      if (!decoder) return settleJson(bytes.toString('utf8'), bytes, resolve, reject);
      // Parsing takes a few ms more: other requests get the event loop first.
      const text = decoded + decoder.end();
      setImmediate(() => settleJson(text, bytes, resolve, reject));
    });
  });
}

function settleJson(
  text: string,
  bytes: Buffer,
  resolve: (body: JsonBody) => void,
  reject: (error: Error) => void,
): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return reject(new InvalidJson());
  }
  const deep = pathDeeperThan(value);
  if (deep !== undefined) return reject(new JsonTooDeep(deep));
  if (text.length > LARGE_BODY_BYTES) setImmediate(resolve, { value, bytes });
  else resolve({ value, bytes });
}

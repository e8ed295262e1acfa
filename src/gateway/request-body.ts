import type { IncomingMessage } from 'node:http';
import { isUtf8 } from 'node:buffer';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { jsonComplexityProblem } from '../common/json-complexity';
import { pathDeeperThan } from '../common/json-depth';
import {
  InvalidJson,
  JsonTooDeep,
  RequestBodyTimeout,
  RequestTooLarge,
  UndecodableBody,
  UnsupportedContentEncoding,
  UnsupportedContentType,
} from '../common/request-errors';
import { MESSAGES_AS_SENT_FROM_BYTES } from './chat-request';
import { JsonSkeleton } from './json-skeleton';

/**
 * Bodies larger than this are checked on a turn of the event loop of their own, parsed on the next,
 * and what the request does next (validation, routing, the prompt's measure) starts on another.
 */
const LARGE_BODY_BYTES = 64 * 1024;

/**
 * The client went away before it had sent the whole body; nobody is left to answer. (Also what a
 * body Node's parser refused half-way looks like from here: that client was answered on the socket,
 * OpenAiResponder.answeredByParser.)
 */
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
 * The Content-Encodings a body may come in, as Express's body parser takes them on the operator API
 * (the same body gets the same answer on every route).
 */
const DECODERS = new Map<string, () => Transform>([
  ['gzip', createGunzip],
  ['x-gzip', createGunzip],
  ['deflate', createInflate],
  ['br', createBrotliDecompress],
]);
export const CONTENT_ENCODINGS = [...DECODERS.keys()];

/**
 * UnsupportedContentType unless `contentType` is application/json (in any letter case, with any
 * parameters) and, if it names a charset, UTF-8, the one the body is read in. A form, plain text or
 * a body without a type is refused for what it is (415), as the operator API refuses it
 * (checkOperatorInput), rather than read as JSON regardless. No `application/*+json` either: OpenAI's
 * clients send application/json. Their exact spelling, by far the most common, costs no allocation.
 */
export function contentTypeProblem(contentType: string | undefined): UnsupportedContentType | undefined {
  if (contentType === 'application/json') return undefined;
  const [mediaType, ...parameters] = (contentType ?? '').split(';');
  const json =
    mediaType.trim().toLowerCase() === 'application/json' &&
    parameters.every((parameter) => {
      const [name, value = ''] = parameter.split('=', 2).map((part) => part.trim().toLowerCase());
      return name !== 'charset' || value.replace(/^"(.*)"$/, '$1') === 'utf-8';
    });
  return json ? undefined : new UnsupportedContentType(contentType ?? '');
}

/**
 * Reads and parses a JSON request body: UnsupportedContentType unless it is declared application/json
 * (contentTypeProblem), RequestTooLarge over `limitBytes` (checked on the declared
 * length first, so a huge body is refused before it is read; a compressed body's limit is on its
 * decompressed bytes, so a small bomb is refused as soon as it inflates past it), InvalidJson when it
 * is not UTF-8 or does not parse, JsonTooDeep when it nests deeper than MAX_JSON_DEPTH (iterative
 * check: no stack overflow). From MESSAGES_AS_SENT_FROM_BYTES on, where the messages pass upstream
 * as the client's bytes, their long texts are left in the bytes too (JsonSkeleton, JsonText):
 * checked, measured, and decoded only if something reads them.
 */
export function readJsonBody(
  req: IncomingMessage,
  limits: { bytes: number; name: string; timeoutMs: number },
): Promise<JsonBody> {
  const { bytes: limitBytes, name: limitName } = limits;
  return new Promise((resolve, reject) => {
    // Both refusals come from the headers alone, so the body is not waited for. Drained, as for a
    // 413: the answer must not wait for, nor be cut off by, the unread body.
    const typeProblem = contentTypeProblem(req.headers['content-type']);
    if (typeProblem) {
      req.resume();
      return reject(typeProblem);
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    const decoder = encoding === 'identity' ? undefined : DECODERS.get(encoding);
    if (encoding !== 'identity' && !decoder) {
      req.resume();
      return reject(new UnsupportedContentEncoding(encoding, CONTENT_ENCODINGS));
    }
    if (Number(req.headers['content-length']) > limitBytes) return reject(new RequestTooLarge(limitName));
    const decoding = decoder?.();
    const source: Readable = decoding ? req.pipe(decoding) : req;
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const refuse = (error: Error): void => {
      // The rest is drained and dropped: destroying the request would take the answer with it.
      BODY_DEADLINES.remove(deadline);
      refused = true;
      chunks.length = 0;
      source.removeAllListeners('data');
      if (decoding) {
        req.unpipe(decoding);
        decoding.destroy();
      }
      req.resume();
      reject(error);
    };
    // A body that stops arriving is answered, not waited for: its connection closes with the answer.
    const deadline: BodyDeadline = {
      at: Date.now() + limits.timeoutMs,
      slot: -1,
      expire: () => refuse(new RequestBodyTimeout(limits.timeoutMs)),
    };
    BODY_DEADLINES.add(deadline);
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) return refuse(new RequestTooLarge(limitName));
      chunks.push(chunk);
    });
    req.on('error', () => {
      BODY_DEADLINES.remove(deadline);
      reject(new BodyAbandoned());
    });
    req.on('close', () => {
      BODY_DEADLINES.remove(deadline);
      if (!req.complete) reject(new BodyAbandoned());
    });
    decoding?.on('error', () => {
      if (!refused) refuse(new UndecodableBody(encoding));
    });
    source.on('end', () => {
      BODY_DEADLINES.remove(deadline);
      if (refused) return;
      const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      if (bytes.length <= LARGE_BODY_BYTES) return settle(() => parseJsonBody(bytes), bytes, resolve, reject);
      // A large body takes a little longer: other requests get the event loop first, between its
      // checks and its parse, and again after it. (A 2 MB chat history of short messages is ~15 ms
      // to check and as much to parse and walk on a warm process, several times that on a cold or
      // busy one, and as much again to validate and measure: in one piece it would hold the loop far
      // past 50 ms.) An immediate set from an immediate runs on the next turn, after the I/O that
      // came meanwhile.
      const later = {
        resolve: (body: JsonBody) => setImmediate(resolve, body),
        reject: (error: Error) => setImmediate(reject, error),
      };
      setImmediate(() => {
        let checked: CheckedJsonBytes;
        try {
          checked = checkJsonBytes(bytes);
        } catch (error) {
          return later.reject(error as Error);
        }
        setImmediate(() => settle(() => parseCheckedJson(checked), bytes, later.resolve, later.reject));
      });
    });
  });
}

function settle(
  parse: () => unknown,
  bytes: Buffer,
  resolve: (body: JsonBody) => void,
  reject: (error: Error) => void,
): void {
  try {
    resolve({ value: parse(), bytes });
  } catch (error) {
    reject(error as Error);
  }
}

interface BodyDeadline {
  /** Epoch ms after which the body counts as stalled. */
  at: number;
  /** Its index in BodyDeadlines' list; -1 once removed. */
  slot: number;
  expire: () => void;
}

/**
 * The deadlines of the bodies being read, swept once a second instead of a timer per request (a
 * Timeout object, its list insertion and removal): against the build before the deadline, a timer per
 * request measured 1.11× its CPU per 1 KB request in the bench, this 0.99× (docs/benchmarks.md). A plain array, not a Set: a long-lived Set that requests enter and leave makes V8
 * promote what they hold (docs/benchmarks.md). A deadline fires up to a second late.
 */
class BodyDeadlines {
  private readonly pending: BodyDeadline[] = [];
  private sweeper?: NodeJS.Timeout;

  add(deadline: BodyDeadline): void {
    deadline.slot = this.pending.length;
    this.pending.push(deadline);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(Date.now()), 1000);
      this.sweeper.unref();
    }
  }

  remove(deadline: BodyDeadline): void {
    if (deadline.slot < 0) return;
    const last = this.pending.pop()!;
    if (last !== deadline) {
      this.pending[deadline.slot] = last;
      last.slot = deadline.slot;
    }
    deadline.slot = -1;
  }

  private sweep(now: number): void {
    // Backwards: what a removal swaps into place i was looked at already.
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const deadline = this.pending[i];
      if (deadline.at > now) continue;
      this.remove(deadline);
      deadline.expire();
    }
  }
}

const BODY_DEADLINES = new BodyDeadlines();

/** A whole body's bytes as JSON (readJsonBody's parse): throws InvalidJson or JsonTooDeep. */
export function parseJsonBody(bytes: Buffer): unknown {
  return parseCheckedJson(checkJsonBytes(bytes));
}

/** Bytes that may be parsed: UTF-8, under the complexity bounds, and (if large) their skeleton. */
interface CheckedJsonBytes {
  bytes: Buffer;
  skeleton: JsonSkeleton | undefined;
}

/** The checks on the bytes before anything parses them: throws InvalidJson or JsonTooComplex. */
function checkJsonBytes(bytes: Buffer): CheckedJsonBytes {
  if (!isUtf8(bytes)) throw new InvalidJson('it is not UTF-8');
  const complex = jsonComplexityProblem(bytes);
  if (complex) throw complex;
  if (bytes.length < MESSAGES_AS_SENT_FROM_BYTES) return { bytes, skeleton: undefined };
  const skeleton = JsonSkeleton.of(bytes);
  if (!skeleton) throw new InvalidJson();
  return { bytes, skeleton };
}

/** The parse of checked bytes: throws InvalidJson or JsonTooDeep. */
function parseCheckedJson({ bytes, skeleton }: CheckedJsonBytes): unknown {
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

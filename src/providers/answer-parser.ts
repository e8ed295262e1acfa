import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { OffLoopWorker, type OffLoopWorkerStats } from '../common/off-loop-worker';
import { chunkShapeProblem, MalformedEventError } from './chunk-shape';

/** Why a large event is no chunk: the worker's parse tells no more. */
const NOT_A_CHUNK_OBJECT = 'its data is not a JSON object with a choices array';

/**
 * From this size on an upstream answer, or one stream event, is parsed in a worker thread. JSON.parse
 * of an answer with `logprobs` takes ~10–14 ms per MB on the event loop (an answer at the 32 MB
 * GATEWAY_ANSWER_LIMIT ~450 ms), and an upstream can send shapes far slower (many different keys:
 * ~100 ms per MB); under this size the worst shape parses in ~25 ms and a real answer in under 3.
 * Real answers and events are almost always far smaller: the request path never meets the worker.
 */
export const PARSED_OFF_LOOP_FROM_BYTES = 256 * 1024;

/**
 * The worker's code (an OffLoopWorker's `handle`): parses the answer or the event's data and keeps
 * only what the gateway reads of it (usage, per choice its message or delta and finish reason, and
 * the completion's id, model and such; never `logprobs`, the bulk of a large answer), so that what
 * comes back is cheap to clone.
 */
const WORKER_SOURCE = `
const MAX_ERROR_JSON = 4096;
function reducedChoices(choices, part) {
  if (!Array.isArray(choices)) return choices;
  return choices.map((choice) =>
    choice !== null && typeof choice === 'object'
      ? { index: choice.index, [part]: choice[part], finish_reason: choice.finish_reason }
      : choice,
  );
}
const CHUNK_FIELDS = ['id', 'object', 'created', 'model', 'system_fingerprint', 'service_tier'];
function reduced(value, part) {
  const kept = {};
  for (const field of CHUNK_FIELDS) {
    const fieldValue = value[field];
    if (typeof fieldValue === 'number' || (typeof fieldValue === 'string' && fieldValue.length <= 256)) kept[field] = fieldValue;
  }
  if ('usage' in value) kept.usage = value.usage;
  if ('choices' in value) kept.choices = reducedChoices(value.choices, part);
  if ('error' in value) {
    const text = JSON.stringify(value.error);
    kept.error = text !== undefined && text.length > MAX_ERROR_JSON ? { message: 'an error object of ' + text.length + ' characters' } : value.error;
  }
  return kept;
}
function parsed(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
function handle(task) {
  if (task.kind === 'answer') {
    const value = parsed(Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength).toString('utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return [{ object: false }, []];
    return [{ object: true, body: reduced(value, 'message') }, []];
  }
  const lines = task.event.split('\\n').filter((line) => line.startsWith('data:'));
  // No data: a comment or keep-alive, which clients skip.
  if (lines.length === 0) return ['', []];
  const value = parsed(lines.map((line) => line.slice(5).trimStart()).join('\\n'));
  if (!isChunk(value)) return [{ object: false }, []];
  return ['data: ' + JSON.stringify(reduced(value, 'delta')), []];
}
/** As chunk-shape.ts judges a small event on the event loop. */
function isChunk(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const error = value.error;
  return Array.isArray(value.choices) || (typeof error === 'object' && error !== null && !Array.isArray(error));
}
`;

/** An answer's parse takes far less; this long means code stuck, not work. */
const TASK_TIMEOUT_MS = 30_000;
/** As the main thread's old space (`npm start`'s --max-old-space-size): what parses there parses here. */
const WORKER_HEAP_MB = 1024;

/** What a JSON answer holds for the gateway. */
export type AnswerReading =
  /** Its object (under PARSED_OFF_LOOP_FROM_BYTES, all of it; from it on, what the gateway reads). */
  | { kind: 'object'; body: Record<string, unknown> }
  /** Not JSON, or JSON but not an object. */
  | { kind: 'not_an_object' }
  /** Too large for the event loop, and the worker could not parse it: passed on unread. */
  | { kind: 'unread' };

/** No worker could take the parse (it failed, or the gateway is shutting down). */
class ParserUnavailable extends Error {
  constructor(reason: string) {
    super(`the answer parser is unavailable: ${reason}`);
    this.name = 'ParserUnavailable';
  }
}

/**
 * Reads upstream answers and stream events for the gateway (usage, quality signals, a shadow
 * pair's text) without holding the event loop: small ones on it, large ones in a worker thread
 * (OffLoopWorker, started by the first large answer). If that worker fails, a large answer is
 * passed to the client as it came, unread: its usage is unknown (budgets charge its worst case) and
 * its quality is not judged; a warning says so.
 */
@Injectable()
export class AnswerParser implements OnModuleDestroy {
  /** Large answers and events passed on unread because no worker could parse them. */
  private unread = 0;
  private readonly worker = new OffLoopWorker<
    { kind: 'answer'; bytes: Uint8Array } | { kind: 'event'; event: string },
    { object: true; body: Record<string, unknown> } | { object: false } | string
  >(
    {
      name: 'the answer parser',
      meanwhile: 'large answers go to clients unread (usage unknown, quality not judged)',
      source: WORKER_SOURCE,
      heapMb: WORKER_HEAP_MB,
      taskTimeoutMs: TASK_TIMEOUT_MS,
      unavailable: (reason) => new ParserUnavailable(reason),
    },
    new Logger(AnswerParser.name),
  );

  /** For /metrics: the worker's starts and failures, and what went unread meanwhile. */
  get stats(): OffLoopWorkerStats & { unread: number } {
    return { ...this.worker.stats, unread: this.unread };
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker.close();
  }

  /** A JSON answer's body. */
  async answer(bytes: Buffer): Promise<AnswerReading> {
    if (bytes.length < PARSED_OFF_LOOP_FROM_BYTES) return readingOf(parsedOrUndefined(bytes.toString('utf8')));
    // Copied into the message: the bytes still go to the client.
    const result = await this.worker.run({ kind: 'answer', bytes }).catch(this.unavailableAs(undefined));
    if (result === undefined) return { kind: 'unread' };
    return typeof result === 'object' && result.object
      ? { kind: 'object', body: result.body }
      : { kind: 'not_an_object' };
  }

  /**
   * What the gateway observes of a stream event: the event itself when small; from
   * PARSED_OFF_LOOP_FROM_BYTES on, an event of what it reads of it (usage, choices' deltas, error),
   * or '' when it has no data or could not be read (nothing is observed of it). An event no client
   * could read as a chunk (chunkShapeProblem; a large one as the worker's parse finds it) throws
   * MalformedEventError, a small one at once: the stream is broken there.
   */
  observedEvent(event: string): string | Promise<string> {
    if (event.length < PARSED_OFF_LOOP_FROM_BYTES) {
      const problem = chunkShapeProblem(event);
      if (problem !== undefined) throw new MalformedEventError(problem);
      // Returned as it is, not wrapped in a promise: a stream's every event comes this way.
      return event;
    }
    return this.worker.run({ kind: 'event', event }).then((result) => {
      if (typeof result === 'string') return result;
      throw new MalformedEventError(NOT_A_CHUNK_OBJECT);
    }, this.unavailableAs(''));
  }

  /** A failed parse's stand-in (counted as unread); any other error goes on. */
  private unavailableAs<T>(value: T): (error: unknown) => T {
    return (error) => {
      if (!(error instanceof ParserUnavailable)) throw error;
      this.unread++;
      return value;
    };
  }
}

function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function readingOf(value: unknown): AnswerReading {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? { kind: 'object', body: value as Record<string, unknown> }
    : { kind: 'not_an_object' };
}

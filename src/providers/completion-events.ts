import type { UpstreamEvents } from './upstream';

/** The fields of a completion every chunk of its stream repeats. */
const CHUNK_FIELDS = ['id', 'created', 'model', 'system_fingerprint', 'service_tier'] as const;

/**
 * A chat completion (OpenAI's JSON answer) as the events of the stream it would have been, for an
 * upstream that answers a streamed request with plain JSON (some OpenAI-compatible servers ignore
 * `stream`): per choice one chunk carrying its whole message as the delta and its finish reason,
 * then, if the answer has usage, the usage chunk (`choices: []`, which the relay passes on only to a
 * client that asked for it), then [DONE]; SSE events without their blank line, as sseEvents yields
 * them. Undefined when `body` is not a completion (no choice).
 */
export function completionAsEvents(body: Record<string, unknown>): string[] | undefined {
  if (!Array.isArray(body.choices) || body.choices.length === 0) return undefined;
  const common: Record<string, unknown> = { object: 'chat.completion.chunk' };
  for (const field of CHUNK_FIELDS) if (body[field] !== undefined) common[field] = body[field];
  const events: string[] = [];
  for (const [position, choice] of (body.choices as unknown[]).entries()) {
    const { index, message, finish_reason: finishReason } = (choice ?? {}) as Record<string, unknown>;
    const chunkChoice = {
      index: typeof index === 'number' ? index : position,
      delta: deltaOf((message ?? {}) as Record<string, unknown>),
      finish_reason: finishReason ?? null,
    };
    events.push(dataEvent({ ...common, choices: [chunkChoice] }));
  }
  if (body.usage !== undefined && body.usage !== null)
    events.push(dataEvent({ ...common, choices: [], usage: body.usage }));
  events.push('data: [DONE]');
  return events;
}

/** A message as a stream's delta: the same fields, each tool call numbered as deltas number them. */
function deltaOf(message: Record<string, unknown>): Record<string, unknown> {
  const delta: Record<string, unknown> = { ...message };
  if (Array.isArray(message.tool_calls)) {
    delta.tool_calls = message.tool_calls.map((call: unknown, index) =>
      typeof call === 'object' && call !== null ? { index, ...call } : call,
    );
  }
  return delta;
}

function dataEvent(data: Record<string, unknown>): string {
  return `data: ${JSON.stringify(data)}`;
}

/** Events already at hand as a stream's remaining events; `onEnd` runs once, when they end or are returned. */
export function eventsFrom(events: readonly string[], onEnd: () => void): UpstreamEvents {
  let next = 0;
  let ended = false;
  const end = (): IteratorReturnResult<undefined> => {
    if (!ended) {
      ended = true;
      onEnd();
    }
    return { done: true, value: undefined };
  };
  const iterator: UpstreamEvents = {
    next: () => Promise.resolve(!ended && next < events.length ? { done: false, value: events[next++] } : end()),
    return: () => Promise.resolve(end()),
    throw: (error: unknown) => {
      end();
      return Promise.reject(error as Error);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

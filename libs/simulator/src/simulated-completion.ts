import { type CallStyle, isPlainObject, type CompletionRequest } from './completion-request';
import type { AnswerShape, MalformedEventAt } from './simulator-profile';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A reply decided once and then rendered either as one JSON body or as a list of SSE events. */
export interface SimulatedReply {
  id: string;
  created: number;
  model: string;
  /** Word tokens; every one but the first carries its leading space, so they concatenate to the content. */
  tokens: string[];
  finishReason: 'stop' | 'length' | CallStyle;
  /** Set when the model refuses: the reply has no content, only this message. */
  refusal: string | null;
  /**
   * Set when the model calls a tool: `tokens` are then the fragments of its `arguments`, not content;
   * `style` says whether it is a `tool_calls` entry or a legacy `function_call` (which has no id).
   */
  toolCall: { id: string; name: string; style: CallStyle } | null;
  /** How many choices (`n`): each is this same answer, and each counts in the completion tokens. */
  choices: number;
  usage: Usage;
}

/** Filler words: fixed, so replies are identical across runs and easy to recognise in test output. */
const VOCABULARY = [
  'alpha',
  'bravo',
  'charlie',
  'delta',
  'echo',
  'foxtrot',
  'golf',
  'hotel',
  'india',
  'juliet',
  'kilo',
  'lima',
  'mike',
  'november',
  'oscar',
  'papa',
  'quebec',
  'romeo',
  'sierra',
  'tango',
  'uniform',
  'victor',
  'whiskey',
];

export const SIMULATED_REFUSAL = "I'm sorry, but I can't help with that request.";

/**
 * Builds the reply: "Simulated reply from <model>: alpha bravo ...", cut at the token limit. When
 * the request asks for JSON the words are wrapped as `{"reply": "..."}` (the closing `"}` is left
 * off for the `invalid_json` shape, and by a token limit that cuts the words). `empty`: no tokens at
 * all; `refusal`: no content, a refusal message instead. A tool call has no content: its tokens are
 * its arguments, `{"query": "alpha bravo ..."}`, left open like JSON content for the
 * `malformed_tool_call` shape and by a token limit.
 */
export function buildReply(
  request: CompletionRequest,
  profileTokens: number,
  id: string,
  created: number,
  shape: AnswerShape = 'normal',
): SimulatedReply {
  const limit = request.maxTokens === null ? profileTokens : Math.min(profileTokens, request.maxTokens);
  const cut = limit < profileTokens;
  const callsTool = (shape === 'tool_call' || shape === 'malformed_tool_call') && request.toolName !== null;
  const words = callsTool ? [] : `Simulated reply from ${request.model}:`.split(' ');
  for (let i = 0; words.length < limit; i++) words.push(VOCABULARY[i % VOCABULARY.length]);
  let tokens = words.slice(0, limit).map((word, i) => (i === 0 ? word : ` ${word}`));
  if (callsTool) {
    const closed = shape !== 'malformed_tool_call' && !cut;
    tokens = ['{"query": "', ...tokens, ...(closed ? ['"}'] : [])];
  } else if (request.json && shape !== 'empty' && shape !== 'refusal') {
    const closed = shape !== 'invalid_json' && !cut;
    tokens = ['{"reply": "', ...tokens, ...(closed ? ['"}'] : [])];
  }
  if (shape === 'empty' || shape === 'refusal') tokens = [];
  const completionTokens = shape === 'empty' ? 0 : limit * request.choices;

  const promptTokens = estimatePromptTokens(request.messages);
  return {
    id,
    created,
    model: request.model,
    tokens,
    finishReason: cut ? 'length' : callsTool ? request.callStyle : 'stop',
    refusal: shape === 'refusal' ? SIMULATED_REFUSAL : null,
    // Unique per completion like OpenAI's call ids, and the same on every run.
    toolCall: callsTool
      ? { id: id.replace(/^chatcmpl-/, 'call_'), name: request.toolName!, style: request.callStyle }
      : null,
    choices: request.choices,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

/** A rough estimate (4 characters a token, 4 tokens of overhead a message): enough for a test double. */
export function estimatePromptTokens(messages: Record<string, unknown>[]): number {
  return messages.reduce((sum, message) => sum + Math.ceil(contentLength(message.content) / 4) + 4, 0);
}

function contentLength(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  // Multi-part content: count the text parts only.
  return content.reduce<number>(
    (sum, part) => sum + (isPlainObject(part) && typeof part.text === 'string' ? part.text.length : 0),
    0,
  );
}

export function toCompletionBody(reply: SimulatedReply) {
  const message = messageOf(reply, reply.tokens.join(''));
  return {
    id: reply.id,
    object: 'chat.completion' as const,
    created: reply.created,
    model: reply.model,
    choices: Array.from({ length: reply.choices }, (_, index) => ({
      index,
      message,
      finish_reason: reply.finishReason,
      logprobs: null,
    })),
    usage: reply.usage,
  };
}

function messageOf(reply: SimulatedReply, text: string) {
  const call = reply.toolCall;
  if (call?.style === 'function_call') {
    return {
      role: 'assistant' as const,
      content: null,
      refusal: null,
      function_call: { name: call.name, arguments: text },
    };
  }
  if (call) {
    return {
      role: 'assistant' as const,
      content: null,
      refusal: null,
      tool_calls: [{ id: call.id, type: 'function' as const, function: { name: call.name, arguments: text } }],
    };
  }
  return { role: 'assistant' as const, content: reply.refusal === null ? text : null, refusal: reply.refusal };
}

export const SSE_DONE = 'data: [DONE]\n\n';

/** A stream as SSE text, split where the simulator may pause (between tokens) or cut (after tokens[0]). */
export interface SseStream {
  /**
   * The role chunk: `delta: { role: 'assistant', content: '' }`; for a tool call it also opens the
   * call, as OpenAI does: `content: null, tool_calls: [{ index, id, type, function: { name, arguments: "" } }]`
   * (a legacy one: `content: null, function_call: { name, arguments: "" }`).
   */
  head: string;
  /**
   * One chunk per word token (a refusal: one refusal chunk; an empty answer: none); for a tool call,
   * one `tool_calls: [{ index, function: { arguments } }]` chunk per fragment of its arguments (a
   * legacy one: `function_call: { arguments }`).
   */
  tokens: string[];
  /** The finish chunk, the usage chunk when asked for, then `data: [DONE]`. */
  tail: string;
}

export function toSseStream(reply: SimulatedReply, includeUsage: boolean): SseStream {
  // OpenAI sends `usage: null` on every chunk but the last when usage was asked for.
  const usageField = includeUsage ? { usage: null } : {};
  // With `n` > 1, every step of the answer is one chunk per choice, in index order.
  const chunk = (delta: Record<string, unknown>, finishReason: string | null) => {
    let events = '';
    for (let index = 0; index < reply.choices; index++) {
      events += sseEvent({
        id: reply.id,
        object: 'chat.completion.chunk',
        created: reply.created,
        model: reply.model,
        choices: [{ index, delta, logprobs: null, finish_reason: finishReason }],
        ...usageField,
      });
    }
    return events;
  };

  let tail = chunk({}, reply.finishReason);
  if (includeUsage) {
    tail += sseEvent({
      id: reply.id,
      object: 'chat.completion.chunk',
      created: reply.created,
      model: reply.model,
      choices: [],
      usage: reply.usage,
    });
  }
  const call = reply.toolCall;
  if (call?.style === 'function_call') {
    return {
      head: chunk({ role: 'assistant', content: null, function_call: { name: call.name, arguments: '' } }, null),
      tokens: reply.tokens.map((piece) => chunk({ function_call: { arguments: piece } }, null)),
      tail: tail + SSE_DONE,
    };
  }
  if (call) {
    const opening = { index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } };
    return {
      head: chunk({ role: 'assistant', content: null, tool_calls: [opening] }, null),
      tokens: reply.tokens.map((piece) => chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null)),
      tail: tail + SSE_DONE,
    };
  }
  const tokens = reply.tokens.map((token) => chunk({ content: token }, null));
  if (reply.refusal !== null) tokens.push(chunk({ refusal: reply.refusal }, null));
  return {
    head: chunk({ role: 'assistant', content: '' }, null),
    tokens,
    tail: tail + SSE_DONE,
  };
}

/**
 * The stream with a chunk cut off half-way (its data not JSON, never a valid prefix of another
 * value) inserted as its first event, or right after its first content chunk (after the role chunk
 * when the answer has none); every other event as it was.
 */
export function withMalformedEvent(stream: SseStream, at: Exclude<MalformedEventAt, 'none'>): SseStream {
  if (at === 'first') return { ...stream, head: cutOffFirstEvent(stream.head) + stream.head };
  const [first, ...rest] = stream.tokens;
  if (first === undefined) return { ...stream, head: stream.head + cutOffFirstEvent(stream.head) };
  return { ...stream, tokens: [first + cutOffFirstEvent(first), ...rest] };
}

function cutOffFirstEvent(events: string): string {
  const event = events.slice(0, events.indexOf('\n\n'));
  return `${event.slice(0, Math.ceil(event.length / 2))}\n\n`;
}

function sseEvent(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

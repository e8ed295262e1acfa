import { invalidRequest } from './openai-error';
import type { AnswerShape } from './simulator-profile';

/** The parts of a chat completion request the simulator acts on; other OpenAI fields are ignored. */
export interface CompletionRequest {
  model: string;
  messages: Record<string, unknown>[];
  stream: boolean;
  includeUsage: boolean;
  /** `max_completion_tokens`, else the older `max_tokens`; null when neither is set. */
  maxTokens: number | null;
  /** `response_format` asks for JSON (json_object or json_schema): the reply is a JSON object. */
  json: boolean;
}

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
  finishReason: 'stop' | 'length';
  /** Set when the model refuses: the reply has no content, only this message. */
  refusal: string | null;
  usage: Usage;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Validates what the simulator needs from the body and throws a 400 in OpenAI's wording otherwise. */
export function parseCompletionRequest(body: unknown): CompletionRequest {
  if (!isPlainObject(body)) throw invalidRequest('The request body must be a JSON object.');
  const { model, messages, stream, stream_options: streamOptions } = body;

  if (typeof model !== 'string' || model === '') {
    throw invalidRequest('you must provide a model parameter', 'model', 'missing_required_parameter');
  }
  if (messages === undefined || messages === null) {
    throw invalidRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  }
  if (!Array.isArray(messages)) {
    throw invalidRequest("Invalid type for 'messages': expected an array.", 'messages', 'invalid_type');
  }
  if (messages.length === 0) {
    throw invalidRequest(
      "Invalid 'messages': empty array. Expected an array with minimum length 1.",
      'messages',
      'empty_array',
    );
  }
  const badIndex = messages.findIndex((message) => !isPlainObject(message) || typeof message.role !== 'string');
  if (badIndex >= 0) {
    throw invalidRequest(
      `Invalid 'messages[${badIndex}]': expected an object with a string 'role'.`,
      `messages[${badIndex}]`,
      'invalid_type',
    );
  }
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw invalidRequest("Invalid type for 'stream': expected a boolean.", 'stream', 'invalid_type');
  }

  return {
    model,
    messages: messages as Record<string, unknown>[],
    stream: stream === true,
    includeUsage: isPlainObject(streamOptions) && streamOptions.include_usage === true,
    maxTokens: readMaxTokens(body, 'max_completion_tokens') ?? readMaxTokens(body, 'max_tokens'),
    json:
      isPlainObject(body.response_format) && ['json_object', 'json_schema'].includes(String(body.response_format.type)),
  };
}

function readMaxTokens(body: Record<string, unknown>, param: string): number | null {
  const value = body[param];
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw invalidRequest(`Invalid '${param}': expected an integer >= 1.`, param, 'invalid_value');
  }
  return value as number;
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
 * all; `refusal`: no content, a refusal message instead.
 */
export function buildReply(
  request: CompletionRequest,
  profileTokens: number,
  id: string,
  created: number,
  shape: AnswerShape = 'normal',
): SimulatedReply {
  const limit = request.maxTokens === null ? profileTokens : Math.min(profileTokens, request.maxTokens);
  const words = `Simulated reply from ${request.model}:`.split(' ');
  for (let i = 0; words.length < limit; i++) words.push(VOCABULARY[i % VOCABULARY.length]);
  let tokens = words.slice(0, limit).map((word, i) => (i === 0 ? word : ` ${word}`));
  if (request.json && shape !== 'empty' && shape !== 'refusal') {
    const closed = shape !== 'invalid_json' && limit >= profileTokens;
    tokens = ['{"reply": "', ...tokens, ...(closed ? ['"}'] : [])];
  }
  if (shape === 'empty' || shape === 'refusal') tokens = [];
  const completionTokens = shape === 'empty' ? 0 : limit;

  const promptTokens = estimatePromptTokens(request.messages);
  return {
    id,
    created,
    model: request.model,
    tokens,
    finishReason: limit < profileTokens ? 'length' : 'stop',
    refusal: shape === 'refusal' ? SIMULATED_REFUSAL : null,
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
  return {
    id: reply.id,
    object: 'chat.completion' as const,
    created: reply.created,
    model: reply.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant' as const,
          content: reply.refusal === null ? reply.tokens.join('') : null,
          refusal: reply.refusal,
        },
        finish_reason: reply.finishReason,
        logprobs: null,
      },
    ],
    usage: reply.usage,
  };
}

export const SSE_DONE = 'data: [DONE]\n\n';

/** A stream as SSE text, split where the simulator may pause (between tokens) or cut (after tokens[0]). */
export interface SseStream {
  /** The role chunk: `delta: { role: 'assistant', content: '' }`. */
  head: string;
  /** One chunk per word token (a refusal: one refusal chunk; an empty answer: none). */
  tokens: string[];
  /** The finish chunk, the usage chunk when asked for, then `data: [DONE]`. */
  tail: string;
}

export function toSseStream(reply: SimulatedReply, includeUsage: boolean): SseStream {
  // OpenAI sends `usage: null` on every chunk but the last when usage was asked for.
  const usageField = includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, string>, finishReason: string | null) =>
    sseEvent({
      id: reply.id,
      object: 'chat.completion.chunk',
      created: reply.created,
      model: reply.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...usageField,
    });

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
  const tokens = reply.tokens.map((token) => chunk({ content: token }, null));
  if (reply.refusal !== null) tokens.push(chunk({ refusal: reply.refusal }, null));
  return {
    head: chunk({ role: 'assistant', content: '' }, null),
    tokens,
    tail: tail + SSE_DONE,
  };
}

function sseEvent(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

import { invalidRequest } from './openai-error';
import type { AnswerShape, ToolMode } from './simulator-profile';

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
  /** What the model may do with the request's function tools (see ToolMode). */
  tools: ToolMode;
  /** The function a tool call names: the one `tool_choice` names, else the first function tool. */
  toolName: string | null;
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
  finishReason: 'stop' | 'length' | 'tool_calls';
  /** Set when the model refuses: the reply has no content, only this message. */
  refusal: string | null;
  /** Set when the model calls a tool: `tokens` are then the fragments of its `arguments`, not content. */
  toolCall: { id: string; name: string } | null;
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
  const { tools, toolName } = readTools(body.tools, body.tool_choice);

  return {
    model,
    messages: messages as Record<string, unknown>[],
    stream: stream === true,
    includeUsage: isPlainObject(streamOptions) && streamOptions.include_usage === true,
    maxTokens: readMaxTokens(body, 'max_completion_tokens') ?? readMaxTokens(body, 'max_tokens'),
    json:
      isPlainObject(body.response_format) && ['json_object', 'json_schema'].includes(String(body.response_format.type)),
    tools,
    toolName,
  };
}

/**
 * The function tools' names and what `tool_choice` allows. Tools of other types are accepted and
 * never called: the simulator only calls functions.
 */
function readTools(tools: unknown, choice: unknown): { tools: ToolMode; toolName: string | null } {
  if (tools !== undefined && tools !== null && !Array.isArray(tools)) {
    throw invalidRequest("Invalid type for 'tools': expected an array.", 'tools', 'invalid_type');
  }
  const names: string[] = [];
  (tools ?? []).forEach((tool: unknown, i: number) => {
    if (!isPlainObject(tool) || tool.type !== 'function') return;
    const name = isPlainObject(tool.function) ? tool.function.name : undefined;
    if (typeof name !== 'string' || name === '') {
      throw invalidRequest(
        `Missing required parameter: 'tools[${i}].function.name'.`,
        `tools[${i}].function.name`,
        'missing_required_parameter',
      );
    }
    names.push(name);
  });

  if (choice === undefined || choice === null || choice === 'auto') {
    return names.length > 0 ? { tools: 'auto', toolName: names[0] } : { tools: 'none', toolName: null };
  }
  if (choice === 'none') return { tools: 'none', toolName: null };
  const named = isPlainObject(choice) && choice.type === 'function' && isPlainObject(choice.function);
  if (choice !== 'required' && !named) {
    throw invalidRequest(
      `Invalid value for 'tool_choice': expected "none", "auto", "required" or {"type": "function", "function": {"name": "..."}}.`,
      'tool_choice',
      'invalid_value',
    );
  }
  if (names.length === 0) {
    throw invalidRequest(
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      'tool_choice',
      'invalid_value',
    );
  }
  if (choice === 'required') return { tools: 'forced', toolName: names[0] };
  const name = (choice as { function: Record<string, unknown> }).function.name;
  if (typeof name !== 'string' || !names.includes(name)) {
    throw invalidRequest(
      `Invalid value for 'tool_choice': no function named ${JSON.stringify(name)} in 'tools' (expected one of: ${names.join(', ')}).`,
      'tool_choice',
      'invalid_value',
    );
  }
  return { tools: 'forced', toolName: name };
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
  const completionTokens = shape === 'empty' ? 0 : limit;

  const promptTokens = estimatePromptTokens(request.messages);
  return {
    id,
    created,
    model: request.model,
    tokens,
    finishReason: cut ? 'length' : callsTool ? 'tool_calls' : 'stop',
    refusal: shape === 'refusal' ? SIMULATED_REFUSAL : null,
    // Unique per completion like OpenAI's call ids, and the same on every run.
    toolCall: callsTool ? { id: id.replace(/^chatcmpl-/, 'call_'), name: request.toolName! } : null,
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
  const text = reply.tokens.join('');
  const message = reply.toolCall
    ? {
        role: 'assistant' as const,
        content: null,
        refusal: null,
        tool_calls: [
          {
            id: reply.toolCall.id,
            type: 'function' as const,
            function: { name: reply.toolCall.name, arguments: text },
          },
        ],
      }
    : { role: 'assistant' as const, content: reply.refusal === null ? text : null, refusal: reply.refusal };
  return {
    id: reply.id,
    object: 'chat.completion' as const,
    created: reply.created,
    model: reply.model,
    choices: [{ index: 0, message, finish_reason: reply.finishReason, logprobs: null }],
    usage: reply.usage,
  };
}

export const SSE_DONE = 'data: [DONE]\n\n';

/** A stream as SSE text, split where the simulator may pause (between tokens) or cut (after tokens[0]). */
export interface SseStream {
  /**
   * The role chunk: `delta: { role: 'assistant', content: '' }`; for a tool call it also opens the
   * call, as OpenAI does: `content: null, tool_calls: [{ index, id, type, function: { name, arguments: "" } }]`.
   */
  head: string;
  /**
   * One chunk per word token (a refusal: one refusal chunk; an empty answer: none); for a tool call,
   * one `tool_calls: [{ index, function: { arguments } }]` chunk per fragment of its arguments.
   */
  tokens: string[];
  /** The finish chunk, the usage chunk when asked for, then `data: [DONE]`. */
  tail: string;
}

export function toSseStream(reply: SimulatedReply, includeUsage: boolean): SseStream {
  // OpenAI sends `usage: null` on every chunk but the last when usage was asked for.
  const usageField = includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, unknown>, finishReason: string | null) =>
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
  const call = reply.toolCall;
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

function sseEvent(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

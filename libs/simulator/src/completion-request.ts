import { invalidRequest } from './openai-error';
import type { ToolMode } from './simulator-profile';

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
  /**
   * How a call is answered: a `tool_calls` message for `tools`, or the legacy `function_call` message
   * for the deprecated `functions` (OpenAI's clients still send them).
   */
  callStyle: CallStyle;
  /** `n`: how many choices to answer with (1 when absent). */
  choices: number;
}

export type CallStyle = 'tool_calls' | 'function_call';

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
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
  const legacy = body.functions !== undefined && body.functions !== null;
  if (legacy && body.tools !== undefined && body.tools !== null) {
    throw invalidRequest(
      "Invalid request: 'functions' and 'tools' cannot both be given; send 'tools' ('functions' is deprecated).",
      'functions',
      'invalid_value',
    );
  }
  if (!legacy && body.function_call !== undefined && body.function_call !== null) {
    throw invalidRequest(
      "Invalid value for 'function_call': 'function_call' is only allowed when 'functions' are specified.",
      'function_call',
      'invalid_value',
    );
  }
  const { tools, toolName } = legacy
    ? readFunctions(body.functions, body.function_call)
    : readTools(body.tools, body.tool_choice);

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
    callStyle: legacy ? 'function_call' : 'tool_calls',
    choices: readChoices(body.n),
  };
}

/** OpenAI's bounds for `n`. */
const MAX_CHOICES = 128;

function readChoices(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_CHOICES) {
    throw invalidRequest(`Invalid 'n': expected an integer between 1 and ${MAX_CHOICES}.`, 'n', 'invalid_value');
  }
  return value as number;
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

/** The legacy `functions` and `function_call`: the same choices as tools, spelled as they were. */
function readFunctions(functions: unknown, choice: unknown): { tools: ToolMode; toolName: string | null } {
  if (!Array.isArray(functions)) {
    throw invalidRequest("Invalid type for 'functions': expected an array.", 'functions', 'invalid_type');
  }
  const names = functions.map((fn: unknown, i) => {
    const name = isPlainObject(fn) ? fn.name : undefined;
    if (typeof name !== 'string' || name === '') {
      throw invalidRequest(
        `Missing required parameter: 'functions[${i}].name'.`,
        `functions[${i}].name`,
        'missing_required_parameter',
      );
    }
    return name;
  });
  if (choice === undefined || choice === null || choice === 'auto') {
    return names.length > 0 ? { tools: 'auto', toolName: names[0] } : { tools: 'none', toolName: null };
  }
  if (choice === 'none') return { tools: 'none', toolName: null };
  if (!isPlainObject(choice) || typeof choice.name !== 'string') {
    throw invalidRequest(
      `Invalid value for 'function_call': expected "none", "auto" or {"name": "..."}.`,
      'function_call',
      'invalid_value',
    );
  }
  if (!names.includes(choice.name)) {
    throw invalidRequest(
      `Invalid value for 'function_call': no function named ${JSON.stringify(choice.name)} in 'functions' (expected one of: ${names.join(', ')}).`,
      'function_call',
      'invalid_value',
    );
  }
  return { tools: 'forced', toolName: choice.name };
}

function readMaxTokens(body: Record<string, unknown>, param: string): number | null {
  const value = body[param];
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw invalidRequest(`Invalid '${param}': expected an integer >= 1.`, param, 'invalid_value');
  }
  return value as number;
}

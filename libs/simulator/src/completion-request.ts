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
  /** `n`: how many choices to answer with (1 when absent). */
  choices: number;
}

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

function readMaxTokens(body: Record<string, unknown>, param: string): number | null {
  const value = body[param];
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw invalidRequest(`Invalid '${param}': expected an integer >= 1.`, param, 'invalid_value');
  }
  return value as number;
}

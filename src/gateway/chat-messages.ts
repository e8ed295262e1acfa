import { isText } from '../common/json-text';
import { isPlainObject, requireList, requireObject, requireString, wrongType, wrongValue } from './chat-validation';
import { InvalidChatRequest } from './gateway.errors';

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;
type Role = (typeof ROLES)[number];

/**
 * The content part types each role may send, as OpenAI documents them; undefined: any type (user
 * messages get new part types now and then, and the known ones are still checked below).
 */
const PART_TYPES: Record<Role, readonly string[] | undefined> = {
  system: ['text'],
  developer: ['text'],
  tool: ['text'],
  assistant: ['text', 'refusal'],
  user: undefined,
  function: [],
};

/**
 * Checks `messages` as OpenAI's Chat Completions API does, so that a request the provider would
 * refuse is refused here, before any call, with the field named. Linear in the number of messages
 * and parts; the text itself is never scanned.
 */
export function validateMessages(messages: unknown): asserts messages is Array<Record<string, unknown>> {
  if (messages === undefined || messages === null) {
    throw new InvalidChatRequest(
      '`messages` is required: a non-empty list of { role, content } objects.',
      'messages',
      'missing_required_parameter',
    );
  }
  requireList(messages, 'messages');
  if (messages.length === 0) {
    throw new InvalidChatRequest(
      '`messages` must be a non-empty list of { role, content } objects.',
      'messages',
      'empty_array',
    );
  }
  for (let i = 0; i < messages.length; i++) {
    if (!isTextMessage(messages[i])) validateMessage(messages[i], `messages[${i}]`);
  }
}

/**
 * The usual message, which validateMessage accepts: a system, developer, user or assistant message
 * whose content is text, with at most a name. Taken without spelling out its fields' names (a
 * string each, for every message of a long history); any other message gets the full check.
 */
function isTextMessage(message: unknown): boolean {
  if (!isPlainObject(message)) return false;
  const { role, content, name } = message;
  return (
    (role === 'user' || role === 'assistant' || role === 'system' || role === 'developer') &&
    isText(content) &&
    (name === undefined || typeof name === 'string') &&
    (role !== 'assistant' || message.tool_calls === undefined || message.tool_calls === null)
  );
}

function validateMessage(message: unknown, at: string): void {
  requireObject(message, at);
  const role = message.role;
  if (role === undefined) {
    throw new InvalidChatRequest(`\`${at}.role\` is required.`, `${at}.role`, 'missing_required_parameter');
  }
  requireString(role, `${at}.role`);
  if (!(ROLES as readonly string[]).includes(role)) throw wrongValue(`${at}.role`, `one of ${ROLES.join(', ')}`, role);
  if (message.name !== undefined) requireString(message.name, `${at}.name`);
  validateContent(role as Role, message, at);
  if (role === 'assistant' && message.tool_calls !== undefined && message.tool_calls !== null) {
    requireList(message.tool_calls, `${at}.tool_calls`);
    message.tool_calls.forEach((call, j) => requireObject(call, `${at}.tool_calls[${j}]`));
  }
  if (role === 'tool') requirePresentString(message.tool_call_id, `${at}.tool_call_id`, 'a tool message');
  if (role === 'function') requirePresentString(message.name, `${at}.name`, 'a function message');
}

function validateContent(role: Role, message: Record<string, unknown>, at: string): void {
  const content = message.content;
  const param = `${at}.content`;
  if (content === undefined || content === null) {
    // OpenAI allows no content only where something else carries the turn.
    const allowed =
      (role === 'assistant' && (isPresent(message.tool_calls) || isPresent(message.function_call))) ||
      (role === 'function' && content === null);
    if (allowed) return;
    if (content === null) throw wrongType(param, `a string or a list of content parts for a ${role} message`, null);
    throw new InvalidChatRequest(
      `\`${param}\` is required for a ${role} message: a string or a list of content parts.`,
      param,
      'missing_required_parameter',
    );
  }
  if (isText(content)) return;
  const partTypes = PART_TYPES[role];
  if (!Array.isArray(content) || partTypes?.length === 0) {
    throw wrongType(param, role === 'function' ? 'a string' : 'a string or a list of content parts', content);
  }
  if (content.length === 0) {
    throw new InvalidChatRequest(`\`${param}\` must not be an empty list.`, param, 'empty_array');
  }
  for (let j = 0; j < content.length; j++) validatePart(content[j], `${param}[${j}]`, role, partTypes);
}

function validatePart(part: unknown, at: string, role: Role, allowed: readonly string[] | undefined): void {
  requireObject(part, at);
  const type = part.type;
  if (type === undefined) {
    throw new InvalidChatRequest(`\`${at}.type\` is required.`, `${at}.type`, 'missing_required_parameter');
  }
  requireString(type, `${at}.type`);
  if (allowed && !allowed.includes(type)) {
    throw wrongValue(`${at}.type`, `${allowed.join(' or ')} in a ${role} message`, type);
  }
  switch (type) {
    case 'text':
      if (isText(part.text)) return;
      return requirePresentString(part.text, `${at}.text`, 'a text part');
    case 'refusal':
      return requirePresentString(part.refusal, `${at}.refusal`, 'a refusal part');
    case 'image_url':
      requireObject(part.image_url, `${at}.image_url`);
      return requirePresentString(part.image_url.url, `${at}.image_url.url`, 'an image_url part');
    case 'input_audio':
      return requireObject(part.input_audio, `${at}.input_audio`);
    case 'file':
      return requireObject(part.file, `${at}.file`);
  }
}

function requirePresentString(value: unknown, param: string, what: string): void {
  if (value === undefined) {
    throw new InvalidChatRequest(`\`${param}\` is required in ${what}.`, param, 'missing_required_parameter');
  }
  if (typeof value !== 'string') throw wrongType(param, 'a string', value);
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

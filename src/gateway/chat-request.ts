import { validateMessages } from './chat-messages';
import { excerpt } from '../common/excerpt';
import { logitBiasKeysProblem } from '../common/logit-bias';
import {
  characterCount,
  isPlainObject,
  requireBoolean,
  requireIntegerBetween,
  requireList,
  requireNumberBetween,
  requireObject,
  requireString,
  wrongType,
  wrongValue,
} from './chat-validation';
import { qualityExpectationOf, type QualityExpectation } from './answer-quality';
import { InvalidChatRequest } from './gateway.errors';
import { topLevelValueSpan } from './json-span';

/**
 * Bodies from this size on pass their messages to the upstream as the client's bytes: re-serialising
 * a 400 KB chat history cost the gateway more CPU than a bare proxy spends on the whole request
 * (docs/benchmarks.md). Below it, serialising is as cheap as finding the bytes.
 */
export const MESSAGES_AS_SENT_FROM_BYTES = 8 * 1024;

/** A validated chat completion request: what the gateway reads from it, and the body to pass on. */
export interface ChatRequest {
  /** The body as the client sent it; fields the gateway does not know pass through untouched. */
  body: Record<string, unknown>;
  messages: ReadonlyArray<Record<string, unknown>>;
  stream: boolean;
  /** Whether the client asked for the usage chunk; the gateway always asks the upstream for it. */
  clientWantsUsage: boolean;
  /** What the answer's quality signals check it against (JSON asked for, tools offered). */
  quality: QualityExpectation;
  /** `metadata`: string attributes for flag targeting. */
  attributes: Record<string, string>;
  user?: string;
  /** A large body's `messages` as the client's bytes (a view of them), to pass on unparsed. */
  messagesAsSent?: Buffer;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * OpenAI's optional parameters and their ranges, checked when present and not null (OpenAI treats
 * null as unset). Parameters not listed here pass through unchecked, so new OpenAI fields keep working.
 */
const OPTIONAL_FIELDS: ReadonlyArray<readonly [string, (value: unknown, param: string) => void]> = [
  ['temperature', (v, p) => requireNumberBetween(v, p, 0, 2)],
  ['top_p', (v, p) => requireNumberBetween(v, p, 0, 1)],
  ['presence_penalty', (v, p) => requireNumberBetween(v, p, -2, 2)],
  ['frequency_penalty', (v, p) => requireNumberBetween(v, p, -2, 2)],
  ['max_tokens', (v, p) => requireIntegerBetween(v, p, 1, MAX_SAFE)],
  ['max_completion_tokens', (v, p) => requireIntegerBetween(v, p, 1, MAX_SAFE)],
  ['n', (v, p) => requireIntegerBetween(v, p, 1, 128)],
  ['top_logprobs', (v, p) => requireIntegerBetween(v, p, 0, 20)],
  ['seed', (v, p) => requireIntegerBetween(v, p, -MAX_SAFE, MAX_SAFE)],
  ['stream', requireBoolean],
  ['logprobs', requireBoolean],
  ['parallel_tool_calls', requireBoolean],
  ['store', requireBoolean],
  ['user', requireString],
  ['service_tier', requireString],
  ['reasoning_effort', requireString],
  ['stop', validateStop],
  ['logit_bias', validateLogitBias],
  ['metadata', validateMetadata],
  ['tools', validateTools],
  ['tool_choice', validateToolChoice],
  ['response_format', validateResponseFormat],
  ['stream_options', validateStreamOptions],
  ['modalities', validateStringList],
];

/**
 * Validates an OpenAI chat completion request before any upstream call, so a request the provider
 * would refuse gets a 400 naming the field (and never counts against a model). Cheap on large
 * bodies: a fixed number of field checks plus one pass over the messages and their parts.
 */
export function parseChatRequest(raw: unknown, bytes?: Buffer): ChatRequest {
  if (!isPlainObject(raw)) {
    throw new InvalidChatRequest(
      'The request body must be a JSON object (an OpenAI chat completion request).',
      null,
      'invalid_type',
    );
  }
  const body = raw;
  if (body.model === undefined || body.model === null || body.model === '') {
    throw new InvalidChatRequest(
      '`model` is required: a catalog model id or route:<policy>.',
      'model',
      'missing_required_parameter',
    );
  }
  requireString(body.model, 'model');
  validateMessages(body.messages);
  for (const [field, check] of OPTIONAL_FIELDS) {
    const value = body[field];
    if (value !== undefined && value !== null) check(value, field);
  }
  const stream = body.stream === true;
  const streamOptions = body.stream_options as { include_usage?: unknown } | null | undefined;
  if (streamOptions !== undefined && streamOptions !== null && !stream) {
    throw new InvalidChatRequest(
      '`stream_options` is only allowed with `stream: true`; drop it or stream the answer.',
      'stream_options',
      'invalid_value',
    );
  }
  if (body.top_logprobs !== undefined && body.top_logprobs !== null && body.logprobs !== true) {
    throw new InvalidChatRequest(
      '`top_logprobs` needs `logprobs: true`; set it or drop top_logprobs.',
      'top_logprobs',
      'invalid_value',
    );
  }
  return {
    body,
    messages: body.messages,
    stream,
    clientWantsUsage: streamOptions?.include_usage === true,
    quality: qualityExpectationOf(body),
    attributes: (body.metadata ?? {}) as Record<string, string>,
    user: (body.user ?? undefined) as string | undefined,
    messagesAsSent: bytes && bytes.length >= MESSAGES_AS_SENT_FROM_BYTES ? messagesOf(bytes) : undefined,
  };
}

function messagesOf(bytes: Buffer): Buffer | undefined {
  const span = topLevelValueSpan(bytes, 'messages');
  return span && bytes.subarray(span[0], span[1]);
}

function validateStop(value: unknown, param: string): void {
  if (typeof value === 'string') return;
  if (!Array.isArray(value)) throw wrongType(param, 'a string or a list of up to 4 strings', value);
  if (value.length > 4) {
    throw new InvalidChatRequest(`\`${param}\` must list at most 4 stop sequences; got ${value.length}.`, param);
  }
  value.forEach((item, i) => requireString(item, `${param}[${i}]`));
}

function validateLogitBias(value: unknown, param: string): void {
  requireObject(value, param);
  const keys = logitBiasKeysProblem(value);
  if (keys) {
    // The key only by its start: a 4 MB key must not come back whole.
    const at = keys.key === undefined ? param : `${param}.${excerpt(keys.key)}`;
    throw new InvalidChatRequest(`\`${at}\`${keys.key === undefined ? ' ' : ': '}${keys.says}.`, at);
  }
  for (const [token, bias] of Object.entries(value))
    requireNumberBetween(bias, `${param}.${excerpt(token)}`, -100, 100);
}

/**
 * OpenAI's bounds on its `metadata`, whose name and shape the gateway's own (string attributes for
 * flag targeting, never sent upstream) takes: a client written for OpenAI already keeps to them, and
 * no body makes flag evaluation walk thousands of attributes or compare megabytes.
 */
const MAX_METADATA_KEYS = 16;
const MAX_METADATA_KEY_CHARACTERS = 64;
const MAX_METADATA_VALUE_CHARACTERS = 512;

function validateMetadata(value: unknown, param: string): void {
  requireObject(value, param);
  const keys = Object.keys(value);
  if (keys.length > MAX_METADATA_KEYS) {
    throw new InvalidChatRequest(
      `\`${param}\` may have at most ${MAX_METADATA_KEYS} keys (OpenAI's bound); got ${keys.length}.`,
      param,
    );
  }
  for (const key of keys) {
    const item = value[key];
    const keyLength = key.length > MAX_METADATA_KEY_CHARACTERS ? characterCount(key) : key.length;
    if (keyLength > MAX_METADATA_KEY_CHARACTERS) {
      // The key itself only by its start: a 4 MB key must not come back whole.
      const at = `${param}.${excerpt(key)}`;
      throw new InvalidChatRequest(
        `\`${at}\`: a metadata key may be at most ${MAX_METADATA_KEY_CHARACTERS} characters (OpenAI's bound); this one has ${keyLength}.`,
        at,
      );
    }
    if (typeof item !== 'string')
      throw wrongType(`${param}.${key}`, 'a string (metadata maps strings to strings)', item);
    const itemLength = item.length > MAX_METADATA_VALUE_CHARACTERS ? characterCount(item) : item.length;
    if (itemLength > MAX_METADATA_VALUE_CHARACTERS) {
      throw new InvalidChatRequest(
        `\`${param}.${key}\` may be at most ${MAX_METADATA_VALUE_CHARACTERS} characters (OpenAI's bound for a metadata value); got ${itemLength}.`,
        `${param}.${key}`,
      );
    }
  }
}

function validateTools(value: unknown, param: string): void {
  requireList(value, param);
  value.forEach((tool, i) => {
    requireObject(tool, `${param}[${i}]`);
    requireString(tool.type, `${param}[${i}].type`);
  });
}

function validateToolChoice(value: unknown, param: string): void {
  if (typeof value === 'string') return;
  if (!isPlainObject(value)) throw wrongType(param, 'a string (none, auto, required) or an object', value);
}

const RESPONSE_FORMATS = ['text', 'json_object', 'json_schema'];

function validateResponseFormat(value: unknown, param: string): void {
  requireObject(value, param);
  requireString(value.type, `${param}.type`);
  if (!RESPONSE_FORMATS.includes(value.type))
    throw wrongValue(`${param}.type`, `one of ${RESPONSE_FORMATS.join(', ')}`, value.type);
  if (value.type !== 'json_schema') return;
  // OpenAI's rule: the schema is optional, its name is not.
  requireObject(value.json_schema, `${param}.json_schema`);
  requireString(value.json_schema.name, `${param}.json_schema.name`);
}

function validateStreamOptions(value: unknown, param: string): void {
  requireObject(value, param);
  if (value.include_usage !== undefined && value.include_usage !== null) {
    requireBoolean(value.include_usage, `${param}.include_usage`);
  }
}

function validateStringList(value: unknown, param: string): void {
  requireList(value, param);
  value.forEach((item, i) => requireString(item, `${param}[${i}]`));
}

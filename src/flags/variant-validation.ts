import { excerpt } from '../common/excerpt';
import { logitBiasKeysProblem } from '../common/logit-bias';
import { SYSTEM_PROMPT_MODES } from './flag.types';

/** A system prompt longer than this is refused: it would ride on every request of the variant. */
export const MAX_SYSTEM_PROMPT_CHARACTERS = 20_000;

/** Says what a value must be (from `.field ` on when a field inside it is wrong), or undefined when it is fine. */
type ParamCheck = (value: unknown) => string | undefined;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const numberBetween =
  (min: number, max: number): ParamCheck =>
  (value) =>
    typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max
      ? undefined
      : `must be a number between ${min} and ${max}`;

const integerFrom =
  (min: number, max = Number.MAX_SAFE_INTEGER): ParamCheck =>
  (value) =>
    Number.isInteger(value) && (value as number) >= min && (value as number) <= max
      ? undefined
      : max === Number.MAX_SAFE_INTEGER
        ? `must be an integer of at least ${min}`
        : `must be an integer between ${min} and ${max}`;

const oneOf =
  (values: readonly string[]): ParamCheck =>
  (value) =>
    typeof value === 'string' && values.includes(value) ? undefined : `must be one of: ${values.join(', ')}`;

const boolean: ParamCheck = (value) => (typeof value === 'boolean' ? undefined : 'must be true or false');

/** A stop sequence is a few characters; a variant's rides on every request it serves. */
const MAX_STOP_CHARACTERS = 1000;
const stopSequence = (item: unknown) => typeof item === 'string' && item.length <= MAX_STOP_CHARACTERS;

const stop: ParamCheck = (value) =>
  stopSequence(value) || (Array.isArray(value) && value.length <= 4 && value.every(stopSequence))
    ? undefined
    : `must be a string or a list of up to 4 strings, each of at most ${MAX_STOP_CHARACTERS} characters`;

/** The completions endpoint's rule for the keys (logitBiasKeysProblem): a variant's bias rides on every request it serves. */
const logitBias: ParamCheck = (value) => {
  const shape = 'must be an object of token id -> bias between -100 and 100';
  if (!isPlainObject(value)) return shape;
  const keys = logitBiasKeysProblem(value);
  if (keys) return keys.key === undefined ? keys.says : `.${excerpt(keys.key)}: ${keys.says}`;
  return Object.values(value).every((bias) => numberBetween(-100, 100)(bias) === undefined) ? undefined : shape;
};

const RESPONSE_FORMATS = ['text', 'json_object', 'json_schema'];

/** OpenAI's rules, as the gateway holds a caller's format to them: a variant's would be refused upstream on every request. */
const responseFormat: ParamCheck = (value) => {
  if (!isPlainObject(value) || typeof value.type !== 'string')
    return 'must be an object with a type, e.g. { "type": "json_object" }';
  if (!RESPONSE_FORMATS.includes(value.type)) return `.type must be one of: ${RESPONSE_FORMATS.join(', ')}`;
  if (value.type === 'json_schema' && !(isPlainObject(value.json_schema) && typeof value.json_schema.name === 'string'))
    return '.json_schema must be an object with a name (and optionally a schema)';
  return undefined;
};

/**
 * The OpenAI chat completion fields a variant may set, with OpenAI's ranges: the ones that shape how
 * a model answers. Anything else OpenAI defines belongs to the caller (CALLER_FIELDS).
 */
const VARIANT_PARAMS: Readonly<Record<string, ParamCheck>> = {
  temperature: numberBetween(0, 2),
  top_p: numberBetween(0, 1),
  presence_penalty: numberBetween(-2, 2),
  frequency_penalty: numberBetween(-2, 2),
  max_tokens: integerFrom(1),
  max_completion_tokens: integerFrom(1),
  seed: integerFrom(-Number.MAX_SAFE_INTEGER),
  stop,
  reasoning_effort: oneOf(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']),
  verbosity: oneOf(['low', 'medium', 'high']),
  logit_bias: logitBias,
  logprobs: boolean,
  top_logprobs: integerFrom(0, 20),
  response_format: responseFormat,
  service_tier: oneOf(['auto', 'default', 'flex', 'scale', 'priority']),
  parallel_tool_calls: boolean,
};

/** OpenAI fields that make up the caller's request (what it asks, how it wants the answer delivered). */
const CALLER_FIELDS = new Set([
  'model',
  'messages',
  'stream',
  'stream_options',
  'n',
  'user',
  'metadata',
  'tools',
  'tool_choice',
  'functions',
  'function_call',
  'modalities',
  'audio',
  'prediction',
  'store',
  'web_search_options',
  'prompt_cache_key',
  'safety_identifier',
]);

const VARIANT_FIELDS = ['model', 'params', 'systemPrompt'];
const SHAPE = 'a catalog model id or { model, params?, systemPrompt? }';

/**
 * Every problem with one variant (`field` is its path, `variants.treatment`): a model id that is not
 * in the catalog, params OpenAI does not define (or that are the caller's), values out of OpenAI's
 * ranges, a system prompt of an unknown mode or over MAX_SYSTEM_PROMPT_CHARACTERS.
 */
export function variantProblems(field: string, variant: unknown, modelExists: (id: string) => boolean): string[] {
  if (typeof variant === 'string') {
    return modelExists(variant) ? [] : [`${field}: unknown model "${excerpt(variant)}" (not in the catalog)`];
  }
  if (!isPlainObject(variant)) return [`${field} must be ${SHAPE}`];
  const problems = Object.keys(variant)
    .filter((key) => !VARIANT_FIELDS.includes(key))
    .map((key) => `${field}.${key}: unknown field (a variant is ${SHAPE})`);
  if (typeof variant.model !== 'string') problems.push(`${field}.model must be a catalog model id (a string)`);
  else if (!modelExists(variant.model))
    problems.push(`${field}.model: unknown model "${excerpt(variant.model)}" (not in the catalog)`);
  if (variant.params !== undefined) problems.push(...paramProblems(`${field}.params`, variant.params));
  if (variant.systemPrompt !== undefined)
    problems.push(...promptProblems(`${field}.systemPrompt`, variant.systemPrompt));
  return problems;
}

function paramProblems(field: string, params: unknown): string[] {
  if (!isPlainObject(params))
    return [`${field} must be an object of OpenAI request fields, e.g. { "temperature": 0.2 }`];
  return Object.entries(params).flatMap(([name, value]) => {
    const check = VARIANT_PARAMS[name];
    if (check) {
      const problem = check(value);
      return problem ? [`${field}.${name}${problem.startsWith('.') ? '' : ' '}${problem}`] : [];
    }
    if (CALLER_FIELDS.has(name)) return [`${field}.${name}: belongs to the caller's request; a variant cannot set it`];
    return [
      `${field}.${name}: not an OpenAI chat completion parameter a variant can set (${Object.keys(VARIANT_PARAMS).join(', ')})`,
    ];
  });
}

function promptProblems(field: string, prompt: unknown): string[] {
  if (!isPlainObject(prompt)) return [`${field} must be { mode: "prepend" | "replace", text }`];
  const problems = Object.keys(prompt)
    .filter((key) => key !== 'mode' && key !== 'text')
    .map((key) => `${field}.${key}: unknown field (a system prompt is { mode, text })`);
  if (!SYSTEM_PROMPT_MODES.includes(prompt.mode as never)) {
    problems.push(`${field}.mode must be one of: ${SYSTEM_PROMPT_MODES.join(', ')}`);
  }
  if (typeof prompt.text !== 'string' || prompt.text.trim() === '') {
    problems.push(`${field}.text must be a non-empty string`);
  } else if (prompt.text.length > MAX_SYSTEM_PROMPT_CHARACTERS) {
    problems.push(
      `${field}.text is ${prompt.text.length} characters long; a system prompt may have at most ${MAX_SYSTEM_PROMPT_CHARACTERS}`,
    );
  }
  return problems;
}

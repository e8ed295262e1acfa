import { parseChatRequest } from './chat-request';
import { InvalidChatRequest } from './gateway.errors';

const user = { role: 'user', content: 'hi' };
const valid = (extra: Record<string, unknown> = {}) => ({ model: 'route:chat', messages: [user], ...extra });

/** `count` metadata keys, each with a short value. */
const metadataOf = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, `v${i}`]));

/** `count` logit biases, token ids 0 up. */
const biasesOf = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [String(i), -100]));

function refusal(body: unknown): InvalidChatRequest {
  try {
    parseChatRequest(body);
  } catch (error) {
    if (error instanceof InvalidChatRequest) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

describe('parseChatRequest', () => {
  it.each<[string, unknown, string | null, string]>([
    ['a body that is not an object', [1, 2], null, 'invalid_type'],
    ['no model', { messages: [user] }, 'model', 'missing_required_parameter'],
    ['a model that is not a string', valid({ model: 7 }), 'model', 'invalid_type'],
    ['no messages', { model: 'gpt-4.1' }, 'messages', 'missing_required_parameter'],
    ['empty messages', valid({ messages: [] }), 'messages', 'empty_array'],
    ['a message that is not an object', valid({ messages: ['hi'] }), 'messages[0]', 'invalid_type'],
    [
      'an unknown role',
      valid({ messages: [user, { role: 'wizard', content: 'x' }] }),
      'messages[1].role',
      'invalid_value',
    ],
    ['no role', valid({ messages: [{ content: 'x' }] }), 'messages[0].role', 'missing_required_parameter'],
    [
      'null user content',
      valid({ messages: [{ role: 'user', content: null }] }),
      'messages[0].content',
      'invalid_type',
    ],
    ['no user content', valid({ messages: [{ role: 'user' }] }), 'messages[0].content', 'missing_required_parameter'],
    [
      'content of the wrong type',
      valid({ messages: [{ role: 'user', content: 5 }] }),
      'messages[0].content',
      'invalid_type',
    ],
    [
      'an empty list of parts',
      valid({ messages: [{ role: 'user', content: [] }] }),
      'messages[0].content',
      'empty_array',
    ],
    [
      'a text part without text',
      valid({ messages: [{ role: 'user', content: [{ type: 'text' }] }] }),
      'messages[0].content[0].text',
      'missing_required_parameter',
    ],
    [
      'an image part in a system message',
      valid({ messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }),
      'messages[0].content[0].type',
      'invalid_value',
    ],
    [
      'an image part without a url',
      valid({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }),
      'messages[0].content[0].image_url.url',
      'missing_required_parameter',
    ],
    [
      'an assistant message with neither content nor tool calls',
      valid({ messages: [user, { role: 'assistant', content: null }] }),
      'messages[1].content',
      'invalid_type',
    ],
    [
      'a tool message without tool_call_id',
      valid({ messages: [user, { role: 'tool', content: '42' }] }),
      'messages[1].tool_call_id',
      'missing_required_parameter',
    ],
    ['a name that is not a string', valid({ messages: [{ ...user, name: 3 }] }), 'messages[0].name', 'invalid_type'],
    ['temperature "hot"', valid({ temperature: 'hot' }), 'temperature', 'invalid_type'],
    ['temperature 7', valid({ temperature: 7 }), 'temperature', 'invalid_value'],
    ['top_p 1.5', valid({ top_p: 1.5 }), 'top_p', 'invalid_value'],
    ['max_tokens -5', valid({ max_tokens: -5 }), 'max_tokens', 'invalid_value'],
    ['max_tokens 2.5', valid({ max_tokens: 2.5 }), 'max_tokens', 'invalid_value'],
    ['max_completion_tokens 0', valid({ max_completion_tokens: 0 }), 'max_completion_tokens', 'invalid_value'],
    ['n 0', valid({ n: 0 }), 'n', 'invalid_value'],
    ['presence_penalty -3', valid({ presence_penalty: -3 }), 'presence_penalty', 'invalid_value'],
    ['frequency_penalty "a lot"', valid({ frequency_penalty: 'a lot' }), 'frequency_penalty', 'invalid_type'],
    ['stream "yes"', valid({ stream: 'yes' }), 'stream', 'invalid_type'],
    [
      'stream_options without stream',
      valid({ stream_options: { include_usage: true } }),
      'stream_options',
      'invalid_value',
    ],
    [
      'stream_options with stream false',
      valid({ stream: false, stream_options: {} }),
      'stream_options',
      'invalid_value',
    ],
    ['five stop sequences', valid({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop', 'invalid_value'],
    ['a logit bias out of range', valid({ logit_bias: { '50256': -200 } }), 'logit_bias.50256', 'invalid_value'],
    ['a logit bias keyed by a word', valid({ logit_bias: { hello: 5 } }), 'logit_bias.hello', 'invalid_value'],
    ['a logit bias keyed by a negative id', valid({ logit_bias: { '-1': 5 } }), 'logit_bias.-1', 'invalid_value'],
    ['a logit bias keyed by a fraction', valid({ logit_bias: { '1.5': 5 } }), 'logit_bias.1.5', 'invalid_value'],
    ['1025 logit biases', valid({ logit_bias: biasesOf(1025) }), 'logit_bias', 'invalid_value'],
    ['metadata that is not strings', valid({ metadata: { tier: 3 } }), 'metadata.tier', 'invalid_type'],
    ['17 metadata keys', valid({ metadata: metadataOf(17) }), 'metadata', 'invalid_value'],
    [
      'a metadata key of 65 characters',
      valid({ metadata: { ['k'.repeat(65)]: 'v' } }),
      `metadata.${'k'.repeat(64)}…`,
      'invalid_value',
    ],
    [
      'a metadata value of 513 characters',
      valid({ metadata: { note: 'v'.repeat(513) } }),
      'metadata.note',
      'invalid_value',
    ],
    ['a user that is not a string', valid({ user: 42 }), 'user', 'invalid_type'],
    ['tools without a type', valid({ tools: [{ function: {} }] }), 'tools[0].type', 'invalid_type'],
    [
      'a response format OpenAI lacks',
      valid({ response_format: { type: 'xml' } }),
      'response_format.type',
      'invalid_value',
    ],
    [
      'a json_schema format without its name',
      valid({ response_format: { type: 'json_schema', json_schema: { schema: {} } } }),
      'response_format.json_schema.name',
      'invalid_type',
    ],
    ['top_logprobs without logprobs', valid({ top_logprobs: 3 }), 'top_logprobs', 'invalid_value'],
  ])('refuses %s, naming the field', (_case, body, param, code) => {
    const error = refusal(body);
    expect(error).toMatchObject({ kind: 'invalid', param, code });
    if (param) expect(error.message).toContain(`\`${param}\``);
  });

  it('quotes short values and only the length of long ones', () => {
    expect(refusal(valid({ messages: [{ role: 'wizard', content: 'x' }] })).message).toContain('got "wizard"');
    expect(refusal(valid({ messages: [{ role: 'w'.repeat(5000), content: 'x' }] })).message).toContain(
      'got a 5000-character string',
    );
  });

  it('bounds metadata as OpenAI bounds its own, saying the bound and what came', () => {
    expect(refusal(valid({ metadata: metadataOf(17) })).message).toBe(
      "`metadata` may have at most 16 keys (OpenAI's bound); got 17.",
    );
    expect(refusal(valid({ metadata: { ['k'.repeat(100)]: 'v' } })).message).toBe(
      `\`metadata.${'k'.repeat(64)}…\`: a metadata key may be at most 64 characters (OpenAI's bound); this one has 100.`,
    );
    expect(refusal(valid({ metadata: { note: 'v'.repeat(600) } })).message).toBe(
      "`metadata.note` may be at most 512 characters (OpenAI's bound for a metadata value); got 600.",
    );
    // Characters as a person counts them: an emoji is one, though a JavaScript string's length counts two.
    expect(refusal(valid({ metadata: { note: '😀'.repeat(513) } })).message).toContain('got 513.');
    const atBounds = { ...metadataOf(14), ['k'.repeat(64)]: 'v'.repeat(512), emoji: '😀'.repeat(512) };
    expect(Object.keys(atBounds)).toHaveLength(16);
    expect(parseChatRequest(valid({ metadata: atBounds })).attributes).toEqual(atBounds);
  });

  it('takes logit biases keyed by token ids, up to 1024 of them, saying what is wrong otherwise', () => {
    expect(refusal(valid({ logit_bias: biasesOf(1025) })).message).toBe(
      "`logit_bias` may have at most 1024 entries (the gateway's bound; OpenAI documents none); got 1025.",
    );
    expect(refusal(valid({ logit_bias: { '50256': 1, ' 42': 1 } })).message).toBe(
      '`logit_bias. 42`: a logit_bias key must be a token id, in decimal digits such as "50256"; got " 42".',
    );
    const long = `1${'0'.repeat(99)}x`;
    const huge = refusal(valid({ logit_bias: { [long]: 1 } }));
    expect(huge).toMatchObject({ param: `logit_bias.${long.slice(0, 64)}…` });
    expect(huge.message).toContain('got a 101-character string');
    const biases = { ...biasesOf(1023), '50256': 100 };
    expect(parseChatRequest(valid({ logit_bias: biases })).body.logit_bias).toBe(biases);
  });

  it('accepts what OpenAI accepts, and passes unknown fields through untouched', () => {
    const body = valid({
      messages: [
        { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look' },
            { type: 'image_url', image_url: { url: 'x' } },
          ],
        },
        { role: 'user', content: [{ type: 'input_video', video: {} }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: {} }] },
        { role: 'tool', content: '42', tool_call_id: 'c1' },
        { role: 'function', name: 'lookup', content: null },
        { role: 'assistant', content: [{ type: 'refusal', refusal: 'No.' }] },
      ],
      temperature: 0,
      top_p: 1,
      max_tokens: null,
      stop: 'END',
      stream: true,
      stream_options: { include_usage: true },
      metadata: { country: 'SG' },
      user: 'user-1',
      some_future_field: { anything: [1, 2, 3] },
    });
    const request = parseChatRequest(body);
    expect(request).toMatchObject({
      stream: true,
      clientWantsUsage: true,
      attributes: { country: 'SG' },
      user: 'user-1',
    });
    expect(request.body).toBe(body);
  });

  it('treats null optional fields as unset', () => {
    const request = parseChatRequest(valid({ stream: null, stream_options: null, metadata: null, user: null }));
    expect(request).toMatchObject({ stream: false, clientWantsUsage: false, attributes: {}, user: undefined });
  });
});

import { qualitySignalsOf } from '../metrics/quality-signals';
import {
  MAX_ACCUMULATED_CHARS,
  PLAIN_EXPECTATION,
  qualityExpectationOf,
  qualityOfAnswer,
  StreamQuality,
  type QualityExpectation,
} from './answer-quality';

const JSON_OBJECT: QualityExpectation = { json: 'object', schema: undefined, tools: false };
const SCHEMA: QualityExpectation = {
  json: 'schema',
  schema: {
    type: 'object',
    properties: { sku: { type: 'string' }, qty: { type: 'integer' } },
    required: ['sku', 'qty'],
    additionalProperties: false,
  },
  tools: false,
};
const TOOLS: QualityExpectation = { json: 'none', schema: undefined, tools: true };

function answer(message: Record<string, unknown>, finish = 'stop') {
  return { choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }] };
}
const signals = (body: Record<string, unknown>, expect = PLAIN_EXPECTATION) =>
  qualitySignalsOf(qualityOfAnswer(body, expect));

describe('qualityExpectationOf', () => {
  it('reads response_format and tools from the request', () => {
    expect(qualityExpectationOf({ model: 'm', messages: [] })).toBe(PLAIN_EXPECTATION);
    expect(qualityExpectationOf({ response_format: { type: 'json_object' } })).toEqual(JSON_OBJECT);
    expect(qualityExpectationOf({ response_format: { type: 'text' } })).toEqual(PLAIN_EXPECTATION);
    const schema = { type: 'object' };
    expect(
      qualityExpectationOf({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }),
    ).toEqual({ json: 'schema', schema, tools: false });
    expect(qualityExpectationOf({ tools: [{ type: 'function', function: { name: 'f' } }] })).toEqual(TOOLS);
  });
});

describe('qualityOfAnswer (plain answers)', () => {
  it('finds nothing wrong with an ordinary answer', () => {
    expect(signals(answer({ content: 'Hello there.' }))).toEqual([]);
  });

  it('flags an empty answer: empty or null content, no choices, no tool call', () => {
    expect(signals(answer({ content: '' }))).toEqual(['empty_answer']);
    expect(signals(answer({ content: null }))).toEqual(['empty_answer']);
    expect(signals({ choices: [] })).toEqual(['empty_answer']);
    expect(signals({})).toEqual(['empty_answer']);
  });

  it('flags truncation (finish_reason length) and refusals, which are not empty answers', () => {
    expect(signals(answer({ content: 'Half a sent' }, 'length'))).toEqual(['truncated']);
    expect(signals(answer({ content: null, refusal: 'I cannot help.' }))).toEqual(['refusal']);
  });

  it('checks JSON only when the request asked for it', () => {
    expect(signals(answer({ content: '{"a": 1' }))).toEqual([]);
    expect(signals(answer({ content: '{"a": 1' }), JSON_OBJECT)).toEqual(['invalid_json']);
    expect(signals(answer({ content: '{"a": 1}' }), JSON_OBJECT)).toEqual([]);
    expect(signals(answer({ content: '{"a": 1' }, 'length'), JSON_OBJECT)).toEqual(['truncated', 'invalid_json']);
  });

  it('checks a json_schema answer against its schema', () => {
    expect(signals(answer({ content: '{"sku": "A1", "qty": 2}' }), SCHEMA)).toEqual([]);
    expect(signals(answer({ content: '{"sku": "A1"}' }), SCHEMA)).toEqual(['json_schema_violation']);
    expect(signals(answer({ content: '{"sku": "A1", "qty": 2.5}' }), SCHEMA)).toEqual(['json_schema_violation']);
    expect(signals(answer({ content: '{"sku": "A1", "qty": 2, "x": 1}' }), SCHEMA)).toEqual(['json_schema_violation']);
    expect(signals(answer({ content: 'sku A1' }), SCHEMA)).toEqual(['invalid_json']);
  });

  it('flags tool calls whose arguments are not JSON; a tool call is not an empty answer', () => {
    const call = (args: unknown) => ({ id: 'c1', type: 'function', function: { name: 'buy', arguments: args } });
    expect(signals(answer({ content: null, tool_calls: [call('{"sku":"A1"}')] }, 'tool_calls'), TOOLS)).toEqual([]);
    expect(signals(answer({ content: null, tool_calls: [call('{"sku":')] }, 'tool_calls'), TOOLS)).toEqual([
      'malformed_tool_call',
    ]);
  });

  it('judges no JSON in content or arguments past the bound a stream has (no parse of megabytes, no false alarm)', () => {
    const past = `{"a": "${'x'.repeat(MAX_ACCUMULATED_CHARS)}`;
    const call = { id: 'c1', type: 'function', function: { name: 'buy', arguments: past } };
    expect(signals(answer({ content: past }), JSON_OBJECT)).toEqual([]);
    expect(signals(answer({ content: null, tool_calls: [call] }, 'tool_calls'), TOOLS)).toEqual([]);
  });
});

const event = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}`;

function streamSignals(events: string[], expect = PLAIN_EXPECTATION) {
  const quality = new StreamQuality(expect);
  for (const e of events) quality.observe(e);
  return qualitySignalsOf(quality.mask());
}

describe('StreamQuality (streamed answers)', () => {
  const role = event({ role: 'assistant', content: '' });

  it('finds nothing wrong with an ordinary stream', () => {
    expect(streamSignals([role, event({ content: 'Hel' }), event({ content: 'lo' }), event({}, 'stop')])).toEqual([]);
  });

  it('flags a stream with no content delta as empty, and a length finish as truncated', () => {
    expect(streamSignals([role, event({}, 'stop')])).toEqual(['empty_answer']);
    expect(streamSignals([role, event({ content: 'Hel' }), event({}, 'length')])).toEqual(['truncated']);
  });

  it('flags a refusal delta', () => {
    expect(streamSignals([role, event({ refusal: 'No.' }), event({}, 'stop')])).toEqual(['refusal']);
  });

  it('is not fooled by content that quotes the keys', () => {
    expect(streamSignals([role, event({ content: '"refusal": "x", "finish_reason": "length"' })])).toEqual([]);
  });

  it('accumulates the content when JSON was asked for', () => {
    const parts = ['{"sku": ', '"A1", ', '"qty": 2}'];
    expect(streamSignals([role, ...parts.map((content) => event({ content })), event({}, 'stop')], SCHEMA)).toEqual([]);
    expect(streamSignals([role, ...parts.slice(0, 2).map((content) => event({ content }))], SCHEMA)).toEqual([
      'invalid_json',
    ]);
    expect(streamSignals([role, event({ content: '{"sku": "A1"}' })], SCHEMA)).toEqual(['json_schema_violation']);
  });

  it("accumulates each tool call's arguments by index", () => {
    const call = (index: number, args: string, name?: string) =>
      event({
        tool_calls: [
          {
            index,
            ...(name ? { id: `c${index}`, type: 'function' } : {}),
            function: { ...(name ? { name } : {}), arguments: args },
          },
        ],
      });
    const good = [role, call(0, '', 'buy'), call(0, '{"sku":'), call(0, '"A1"}'), event({}, 'tool_calls')];
    expect(streamSignals(good, TOOLS)).toEqual([]);
    const bad = [
      role,
      call(0, '{"sku":"A1"}', 'buy'),
      call(1, '', 'pay'),
      call(1, '{"amount":'),
      event({}, 'tool_calls'),
    ];
    expect(streamSignals(bad, TOOLS)).toEqual(['malformed_tool_call']);
  });

  it('keeps the choices of an n > 1 stream apart: their deltas interleave', () => {
    const of = (index: number, delta: Record<string, unknown>) =>
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index, delta, finish_reason: null }] })}`;
    const json = [
      of(0, { content: '{"sku": ' }),
      of(1, { content: '{"sku": ' }),
      of(0, { content: '"A1", "qty": 1}' }),
    ];
    expect(streamSignals([...json, of(1, { content: '"B2", "qty": 2}' })], SCHEMA)).toEqual([]);
    expect(streamSignals([...json, of(1, { content: '"B2"' })], SCHEMA)).toEqual(['invalid_json']);
    const call = (index: number, args: string) =>
      of(index, { tool_calls: [{ index: 0, function: { arguments: args } }] });
    const calls = [call(0, '{"sku":'), call(1, '{"sku":'), call(0, '"A1"}'), call(1, '"B2"}')];
    expect(streamSignals(calls, TOOLS)).toEqual([]);
    expect(streamSignals(calls.slice(0, 3), TOOLS)).toEqual(['malformed_tool_call']);
  });

  it('stops accumulating past the bound and then judges no JSON (no false alarm)', () => {
    const big = 'x'.repeat(MAX_ACCUMULATED_CHARS / 2 + 1);
    expect(streamSignals([role, event({ content: `{"a": "${big}` }), event({ content: big })], JSON_OBJECT)).toEqual(
      [],
    );
  });
});

import { agreementOf, answerOfBody, normalised, StreamCapture } from './agreement';

describe('agreement', () => {
  it('normalises labels and JSON before comparing', () => {
    expect(normalised('  Fraud.\n')).toBe('fraud');
    expect(normalised('{"b": 1, "a": [2]}')).toBe(normalised('{"a":[2],"b":1}'));
  });

  it('compares texts, tool names and lengths', () => {
    const control = { text: 'Fraud', tools: ['lookup'] };
    expect(agreementOf(control, { text: 'fraud.', tools: ['lookup'] })).toEqual({
      exactAgreement: true,
      toolsAgreement: true,
      lengthRatio: 1.2,
    });
    expect(agreementOf(control, { text: 'legit', tools: [] })).toMatchObject({
      exactAgreement: false,
      toolsAgreement: false,
    });
    expect(agreementOf(control, null)).toEqual({ exactAgreement: null, toolsAgreement: null, lengthRatio: null });
  });

  it('reads the answer of a plain body and of a stream', () => {
    const body = {
      choices: [{ message: { content: 'hi', tool_calls: [{ function: { name: 'search', arguments: '{}' } }] } }],
    };
    expect(answerOfBody(body)).toEqual({ text: 'hi', tools: ['search'] });
    const capture = new StreamCapture();
    capture.observe('data: {"choices":[{"index":0,"delta":{"content":"h"}}]}');
    capture.observe('data: {"choices":[{"index":0,"delta":{"content":"i"}}]}');
    capture.observe('data: {"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"name":"search"}}]}}]}');
    expect(capture.answer()).toEqual({ text: 'hi', tools: ['search'] });
  });
});

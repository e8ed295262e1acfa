import { AnswerParser, PARSED_OFF_LOOP_FROM_BYTES } from './answer-parser';
import { MalformedEventError, NOT_JSON } from './chunk-shape';

/** A completion with `logprobs` (top 5 per token) of at least `bytes`, as OpenAI answers one. */
function logprobsAnswer(bytes: number) {
  const tokens: unknown[] = [];
  let content = '';
  for (let size = 0, i = 0; size < bytes; i++) {
    const token = ` word${i % 97}`;
    const entry = {
      token,
      logprob: -0.25,
      bytes: [...Buffer.from(token)],
      top_logprobs: Array.from({ length: 5 }, (_, k) => ({ token: ` alt${k}`, logprob: -k, bytes: [32, 97 + k] })),
    };
    size += JSON.stringify(entry).length;
    tokens.push(entry);
    content += token;
  }
  const usage = { prompt_tokens: 9, completion_tokens: tokens.length, total_tokens: tokens.length + 9 };
  const body = {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    model: 'gpt-4.1',
    choices: [
      { index: 0, message: { role: 'assistant', content }, logprobs: { content: tokens }, finish_reason: 'length' },
    ],
    usage,
  };
  return { bytes: Buffer.from(JSON.stringify(body)), content, usage };
}

describe('AnswerParser', () => {
  const parser = new AnswerParser();
  afterAll(() => parser.onModuleDestroy());

  it('parses a small answer whole, on the event loop', async () => {
    const body = { id: 'x', choices: [{ index: 0, message: { content: 'hi' }, logprobs: null }], extra: [1] };
    expect(await parser.answer(Buffer.from(JSON.stringify(body)))).toEqual({ kind: 'object', body });
  });

  it('reads a large answer off the event loop: its usage and messages, without the logprobs', async () => {
    const answer = logprobsAnswer(2 * 1024 * 1024);
    expect(answer.bytes.length).toBeGreaterThan(PARSED_OFF_LOOP_FROM_BYTES);
    expect(await parser.answer(answer.bytes)).toEqual({
      kind: 'object',
      body: {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        model: 'gpt-4.1',
        usage: answer.usage,
        choices: [{ index: 0, message: { role: 'assistant', content: answer.content }, finish_reason: 'length' }],
      },
    });
  });

  it.each([
    ['not JSON', `{"choices": [${'1,'.repeat(PARSED_OFF_LOOP_FROM_BYTES)}`],
    ['a JSON array', `[${'1,'.repeat(PARSED_OFF_LOOP_FROM_BYTES)}1]`],
    ['small and not JSON', '<html>bad gateway</html>'],
  ])('says an answer that is %s is not an object', async (_, text) => {
    expect(await parser.answer(Buffer.from(text))).toEqual({ kind: 'not_an_object' });
  });

  it('passes a small event on as it is', async () => {
    const event = 'data: {"choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}';
    expect(await parser.observedEvent(event)).toBe(event);
  });

  it('reduces a large event to what the gateway reads of it: usage, deltas, short fields, and an error cut short', async () => {
    const padding = 'x'.repeat(PARSED_OFF_LOOP_FROM_BYTES);
    const data = {
      choices: [{ index: 0, delta: { content: 'hi' }, logprobs: { content: [padding] }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 4 },
      error: { message: padding },
      model: 'gpt-4.1',
      system_fingerprint: padding,
    };
    const observed = await parser.observedEvent(`event: chunk\ndata: ${JSON.stringify(data)}`);
    expect(JSON.parse(observed.slice('data: '.length))).toEqual({
      choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 4 },
      error: { message: `an error object of ${JSON.stringify(data.error).length} characters` },
      model: 'gpt-4.1',
    });
  });

  it('refuses a small event that is no chunk on the event loop, at once', () => {
    expect(() => parser.observedEvent('data: {"choices":[{"delta":{"content":"hi"}')).toThrow(
      new MalformedEventError(NOT_JSON),
    );
    expect(() => parser.observedEvent('data: {"delta":{"content":"hi"}}')).toThrow(MalformedEventError);
  });

  it.each([
    ['not JSON', (padding: string) => `data: {"choices":[{"delta":{"content":"${padding}"}}`],
    ['JSON that is no object', (padding: string) => `data: ["${padding}"]`],
    ['an object without choices', (padding: string) => `data: {"delta":{"content":"${padding}"}}`],
    ['an error that is no object', (padding: string) => `data: {"error":"${padding}"}`],
  ])('refuses a large event that is %s once the worker has parsed it', async (_, eventOf) => {
    const event = eventOf('x'.repeat(PARSED_OFF_LOOP_FROM_BYTES));
    await expect(parser.observedEvent(event)).rejects.toThrow(MalformedEventError);
  });

  it('judges no large event it could not read (the gateway shutting down)', async () => {
    const stopping = new AnswerParser();
    const reading = stopping.observedEvent(`data: {"choices":[${'1,'.repeat(PARSED_OFF_LOOP_FROM_BYTES)}`);
    await stopping.onModuleDestroy();
    expect(await reading).toBe('');
  });

  it('passes a large answer on unread when its parse cannot finish (the gateway shutting down)', async () => {
    const stopping = new AnswerParser();
    const reading = stopping.answer(logprobsAnswer(PARSED_OFF_LOOP_FROM_BYTES).bytes);
    await stopping.onModuleDestroy();
    expect(await reading).toEqual({ kind: 'unread' });
    expect(stopping.stats).toEqual({ running: false, starts: 1, failures: 0, unread: 1 });
  });
});

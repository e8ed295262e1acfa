import { completionAsEvents, eventsFrom } from './completion-events';

const data = (event: string) => JSON.parse(event.slice('data: '.length)) as Record<string, unknown>;

describe('completionAsEvents', () => {
  it('gives each choice as one chunk with its whole message and finish reason, then the usage chunk and [DONE]', () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'buy', arguments: '{"sku":"A1"}' } };
    const events = completionAsEvents({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 7,
      model: 'gpt-4.1',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hello.' }, logprobs: null, finish_reason: 'stop' },
        { index: 1, message: { role: 'assistant', content: null, tool_calls: [call] }, finish_reason: 'tool_calls' },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
    });
    const common = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 7, model: 'gpt-4.1' };
    expect(events?.slice(0, -1).map(data)).toEqual([
      {
        ...common,
        choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello.' }, finish_reason: 'stop' }],
      },
      {
        ...common,
        choices: [
          {
            index: 1,
            delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, ...call }] },
            finish_reason: 'tool_calls',
          },
        ],
      },
      { ...common, choices: [], usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } },
    ]);
    expect(events?.at(-1)).toBe('data: [DONE]');
  });

  it('has no usage chunk for an answer without usage', () => {
    const events = completionAsEvents({ choices: [{ message: { content: 'Hi' }, finish_reason: 'stop' }] });
    expect(events?.map((event) => (event.startsWith('data: {') ? data(event) : event))).toEqual([
      { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: 'stop' }] },
      'data: [DONE]',
    ]);
  });

  it.each([
    ['an error object', { error: { message: 'overloaded' } }],
    ['no choice', { choices: [] }],
  ])('is undefined for JSON that is not a completion: %s', (_, body) => {
    expect(completionAsEvents(body)).toBeUndefined();
  });
});

describe('eventsFrom', () => {
  it('yields the events in order, then ends once, also when returned early', async () => {
    let ends = 0;
    const events = eventsFrom(['a', 'b'], () => ends++);
    const seen: string[] = [];
    for await (const event of events) seen.push(event);
    expect(seen).toEqual(['a', 'b']);
    await events.return();
    expect(ends).toBe(1);

    const returned = eventsFrom(['a', 'b'], () => ends++);
    await returned.return();
    expect(await returned.next()).toEqual({ done: true, value: undefined });
    expect(ends).toBe(2);
  });
});

import type { Route } from '../routing/routing.service';
import { parseChatRequest } from './chat-request';
import { parseJsonBody } from './request-body';
import { routedFieldsOf, upstreamBodyOf } from './upstream-body';

const route = (overrides: Record<string, unknown> = {}, forwardMetadata = false, variant?: Record<string, unknown>) =>
  ({ plan: { bodyOverrides: overrides, forwardMetadata, variant } }) as unknown as Route;

/** What the upstream receives: the body whole or its pieces one after the other, parsed. */
function sentJson(payload: string | Buffer | readonly Buffer[]) {
  return JSON.parse(
    typeof payload === 'string' || Buffer.isBuffer(payload) ? payload.toString() : Buffer.concat(payload).toString(),
  );
}

/** A client's body as it came over the wire, parsed as the pipeline parses it. */
function request(body: Record<string, unknown>, spacing?: number) {
  const bytes = Buffer.from(JSON.stringify(body, null, spacing));
  return parseChatRequest(parseJsonBody(bytes), bytes);
}

describe('the upstream body', () => {
  const history = Array.from({ length: 60 }, (_, i) => ({
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: `turn ${i}: "quoted", back\\slash, emoji 😀, ünïcödé, brackets ]} ${'lorem ipsum '.repeat(50)}`,
  }));

  it.each([
    ['a small body, serialised', [{ role: 'user', content: 'hi' }]],
    ['a large body, its messages passed on as the client sent them', history],
    ['a larger body, its messages sent as a view of the client’s bytes', [...history, ...history, ...history]],
  ])('%s: the client’s fields and messages, the model per candidate, no metadata', (_, messages) => {
    const chat = request({ model: 'route:chat', messages, temperature: 0.2, metadata: { team: 'x' }, extra: [1] }, 2);
    expect(chat.messagesAsSent !== undefined).toBe(messages.length > 1);
    const body = upstreamBodyOf(routedFieldsOf(chat, route({ max_tokens: 64 })), chat);
    for (const model of ['gpt-4.1', 'deepseek-v3.2']) {
      expect(sentJson(body.forModel(model))).toEqual({
        model,
        messages,
        temperature: 0.2,
        extra: [1],
        max_tokens: 64,
      });
    }
  });

  it('asks a stream for its usage chunk, and forwards metadata when the policy says so', () => {
    const chat = request({ model: 'm', messages: history, stream: true, metadata: { team: 'x' } });
    const sent = sentJson(upstreamBodyOf(routedFieldsOf(chat, route({}, true)), chat).forModel('gpt-4.1'));
    expect(sent).toEqual({
      model: 'gpt-4.1',
      messages: history,
      stream: true,
      stream_options: { include_usage: true },
      metadata: { team: 'x' },
    });
  });

  it('serialises the messages when the policy overrides them', () => {
    const chat = request({ model: 'm', messages: history });
    const replaced = [{ role: 'user', content: 'replaced' }];
    expect(
      sentJson(upstreamBodyOf(routedFieldsOf(chat, route({ messages: replaced })), chat).forModel('x')).messages,
    ).toEqual(replaced);
  });

  it('writes the texts of a large body’s messages when a variant’s system prompt changes the list', () => {
    const chat = request({ model: 'm', messages: history });
    const prompt = { text: 'Answer in French.', mode: 'prepend' };
    const sent = upstreamBodyOf(routedFieldsOf(chat, route({}, false, { systemPrompt: prompt })), chat).forModel('x');
    expect(sentJson(sent).messages).toEqual([{ role: 'system', content: prompt.text }, ...history]);
  });
});

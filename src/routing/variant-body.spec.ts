import type { RoutePlan } from './policy-book';
import { routedBody } from './variant-body';

const plan = (changes: Partial<RoutePlan>): RoutePlan => ({
  candidates: [],
  totalTimeoutMs: 1000,
  attemptTimeoutMs: 1000,
  bodyOverrides: {},
  forwardMetadata: false,
  ...changes,
});

const messages = [
  { role: 'system', content: 'You are the caller.' },
  { role: 'developer', content: 'Be brief.' },
  { role: 'user', content: 'hello' },
];

describe('routedBody', () => {
  it("sets the variant's params over the caller's, and the strategy's forced fields over both", () => {
    const body = { model: 'route:fraud', messages, temperature: 0.5, top_p: 0.9, max_tokens: 10 };
    const routed = routedBody(
      body,
      plan({ variant: { params: { temperature: 1.2, max_tokens: 99 } }, bodyOverrides: { temperature: 0 } }),
    );
    expect(routed).toEqual({ ...body, temperature: 0, max_tokens: 99 });
    expect(body.temperature).toBe(0.5);
  });

  it("prepends the variant's system prompt and keeps the caller's messages", () => {
    const routed = routedBody({ messages }, plan({ variant: { systemPrompt: { mode: 'prepend', text: 'Ours.' } } }));
    expect(routed.messages).toEqual([{ role: 'system', content: 'Ours.' }, ...messages]);
  });

  it("replaces the caller's system and developer messages", () => {
    const routed = routedBody({ messages }, plan({ variant: { systemPrompt: { mode: 'replace', text: 'Ours.' } } }));
    expect(routed.messages).toEqual([
      { role: 'system', content: 'Ours.' },
      { role: 'user', content: 'hello' },
    ]);
  });

  it('leaves the body as it was for a variant that is only a model', () => {
    const body = { messages, temperature: 0.3 };
    expect(routedBody(body, plan({}))).toEqual(body);
  });
});

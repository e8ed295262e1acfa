import { MAX_SYSTEM_PROMPT_CHARACTERS, variantProblems } from './variant-validation';

const known = (id: string) => ['gpt-4.1', 'deepseek-v3.2'].includes(id);

describe('variantProblems', () => {
  it('accepts a model id, and a model with params and a system prompt', () => {
    expect(variantProblems('variants.a', 'gpt-4.1', known)).toEqual([]);
    expect(
      variantProblems(
        'variants.b',
        {
          model: 'gpt-4.1',
          params: {
            temperature: 0.2,
            max_tokens: 300,
            stop: ['\n\n'],
            reasoning_effort: 'low',
            response_format: { type: 'json_object' },
          },
          systemPrompt: { mode: 'replace', text: 'Be brief.' },
        },
        known,
      ),
    ).toEqual([]);
  });

  it('names each bad field by its path', () => {
    expect(
      variantProblems(
        'variants.b',
        {
          model: 'gpt-9',
          params: { temprature: 1, temperature: 3, messages: [], max_tokens: 0 },
          systemPrompt: { mode: 'append', text: 'x'.repeat(MAX_SYSTEM_PROMPT_CHARACTERS + 1) },
          weight: 5,
        },
        known,
      ),
    ).toEqual([
      'variants.b.weight: unknown field (a variant is a catalog model id or { model, params?, systemPrompt? })',
      'variants.b.model: unknown model "gpt-9" (not in the catalog)',
      expect.stringMatching(
        /^variants\.b\.params\.temprature: not an OpenAI chat completion parameter a variant can set \(temperature, top_p, /,
      ),
      'variants.b.params.temperature must be a number between 0 and 2',
      "variants.b.params.messages: belongs to the caller's request; a variant cannot set it",
      'variants.b.params.max_tokens must be an integer of at least 1',
      'variants.b.systemPrompt.mode must be one of: prepend, replace',
      `variants.b.systemPrompt.text is ${MAX_SYSTEM_PROMPT_CHARACTERS + 1} characters long; a system prompt may have at most ${MAX_SYSTEM_PROMPT_CHARACTERS}`,
    ]);
  });

  it("holds logit_bias to the completions endpoint's rule: token ids as keys, at most 1024 of them", () => {
    const withBias = (logit_bias: unknown) =>
      variantProblems('variants.t', { model: 'gpt-4.1', params: { logit_bias } }, known);
    const biases = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [String(i), -100]));
    expect(withBias({ ...biases(1023), '50256': 100 })).toEqual([]);
    expect(withBias({ '50256': 1, hello: 5 })).toEqual([
      'variants.t.params.logit_bias.hello: a logit_bias key must be a token id, in decimal digits such as "50256"; got "hello"',
    ]);
    expect(withBias({ '-1': 5 })).toEqual([
      'variants.t.params.logit_bias.-1: a logit_bias key must be a token id, in decimal digits such as "50256"; got "-1"',
    ]);
    const long = `1${'0'.repeat(99)}x`;
    expect(withBias({ [long]: 1 })).toEqual([
      `variants.t.params.logit_bias.${long.slice(0, 64)}…: a logit_bias key must be a token id, in decimal digits such as "50256"; got a 101-character string`,
    ]);
    expect(withBias(biases(1025))).toEqual([
      "variants.t.params.logit_bias may have at most 1024 entries (the gateway's bound; OpenAI documents none); got 1025",
    ]);
    expect(withBias({ '50256': -200 })).toEqual([
      'variants.t.params.logit_bias must be an object of token id -> bias between -100 and 100',
    ]);
  });

  it('says what a variant may be when it is neither', () => {
    expect(variantProblems('variants.c', 42, known)).toEqual([
      'variants.c must be a catalog model id or { model, params?, systemPrompt? }',
    ]);
    expect(variantProblems('variants.c', 'gpt-9', known)).toEqual([
      'variants.c: unknown model "gpt-9" (not in the catalog)',
    ]);
  });
});

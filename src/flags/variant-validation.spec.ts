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

  it('says what a variant may be when it is neither', () => {
    expect(variantProblems('variants.c', 42, known)).toEqual([
      'variants.c must be a catalog model id or { model, params?, systemPrompt? }',
    ]);
    expect(variantProblems('variants.c', 'gpt-9', known)).toEqual([
      'variants.c: unknown model "gpt-9" (not in the catalog)',
    ]);
  });
});

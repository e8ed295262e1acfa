import { bucketFor } from '@switchyard/bucketing';
import { evaluate } from './flag-evaluator';
import type { FlagDefinition } from './flag.types';

function flag(overrides: Partial<FlagDefinition> = {}): FlagDefinition {
  return {
    key: 'recommendations-model',
    description: '',
    enabled: true,
    variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2', other: 'gemini-2.5-flash' },
    defaultVariant: 'control',
    rollout: { treatment: 500 },
    rules: [
      {
        name: 'sg-enterprise',
        conditions: [
          { attribute: 'country', operator: 'in', values: ['SG', 'MY'] },
          { attribute: 'tier', operator: 'equals', values: ['enterprise'] },
        ],
        serve: { variant: 'treatment' },
      },
      {
        name: 'beta-half',
        conditions: [{ attribute: 'cohort', operator: 'starts_with', values: ['beta'] }],
        serve: { rollout: { treatment: 5000 } },
      },
    ],
    salt: 'recommendations-model',
    version: 1,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    archivedAt: null,
    ...overrides,
  };
}

/** A user id whose bucket for the salt satisfies `want`. */
function userWhere(want: (bucket: number) => boolean, salt = 'recommendations-model'): string {
  for (let i = 0; ; i++) if (want(bucketFor(salt, `user-${i}`))) return `user-${i}`;
}

describe('evaluate', () => {
  it('serves the default variant with reason "disabled" when the kill switch is off, rules or not', () => {
    const result = evaluate(flag({ enabled: false }), {
      userId: 'u1',
      attributes: { country: 'SG', tier: 'enterprise' },
    });
    expect(result).toEqual({
      variant: 'control',
      model: 'gpt-4.1',
      bucket: bucketFor('recommendations-model', 'u1'),
      reason: 'disabled',
      sticky: true,
    });
  });

  it('serves a fixed variant from the first rule whose conditions all hold', () => {
    const user = userWhere((b) => b >= 500);
    const result = evaluate(flag(), { userId: user, attributes: { country: 'MY', tier: 'enterprise' } });
    expect(result).toMatchObject({ variant: 'treatment', model: 'deepseek-v3.2', reason: 'rule:sg-enterprise' });
  });

  it('skips a rule when one of its conditions fails', () => {
    const user = userWhere((b) => b >= 500);
    const result = evaluate(flag(), { userId: user, attributes: { country: 'SG', tier: 'free' } });
    expect(result).toMatchObject({ variant: 'control', reason: 'default' });
  });

  it('takes rules in order: the first match wins', () => {
    const rules = flag().rules;
    const both = { country: 'SG', tier: 'enterprise', cohort: 'beta-1' };
    const user = userWhere((b) => b >= 5000);
    expect(evaluate(flag(), { userId: user, attributes: both }).reason).toBe('rule:sg-enterprise');
    expect(evaluate(flag({ rules: [rules[1], rules[0]] }), { userId: user, attributes: both })).toMatchObject({
      reason: 'rule:beta-half',
      variant: 'control',
    });
  });

  it("serves a rule's own rollout by the user's bucket", () => {
    const inside = userWhere((b) => b < 5000);
    const outside = userWhere((b) => b >= 5000);
    expect(evaluate(flag(), { userId: inside, attributes: { cohort: 'beta-7' } })).toMatchObject({
      variant: 'treatment',
      reason: 'rule:beta-half',
    });
    expect(evaluate(flag(), { userId: outside, attributes: { cohort: 'beta-7' } })).toMatchObject({
      variant: 'control',
      reason: 'rule:beta-half',
    });
  });

  it('falls to the flag rollout, then to the default', () => {
    const inside = userWhere((b) => b < 500);
    const outside = userWhere((b) => b >= 500);
    expect(evaluate(flag(), { userId: inside, attributes: {} })).toMatchObject({
      variant: 'treatment',
      reason: 'rollout',
    });
    expect(evaluate(flag(), { userId: outside })).toMatchObject({ variant: 'control', reason: 'default' });
  });

  it('supports not_in (an absent attribute is not in the list) and starts_with over several prefixes', () => {
    const rule = {
      name: 'not-eu',
      conditions: [
        { attribute: 'region', operator: 'not_in' as const, values: ['eu'] },
        { attribute: 'plan', operator: 'starts_with' as const, values: ['pro', 'team'] },
      ],
      serve: { variant: 'other' },
    };
    const f = flag({ rules: [rule], rollout: {} });
    expect(evaluate(f, { userId: 'u', attributes: { plan: 'team-annual' } }).reason).toBe('rule:not-eu');
    expect(evaluate(f, { userId: 'u', attributes: { region: 'us', plan: 'pro' } }).variant).toBe('other');
    expect(evaluate(f, { userId: 'u', attributes: { region: 'eu', plan: 'pro' } }).reason).toBe('default');
    expect(evaluate(f, { userId: 'u', attributes: { region: 'us', plan: 'free' } }).reason).toBe('default');
  });

  it('lays slices out by variant name, whatever order the rollout object has', () => {
    const a = flag({ rules: [], rollout: { treatment: 1000, other: 1000 } });
    const b = flag({ rules: [], rollout: { other: 1000, treatment: 1000 } });
    for (let i = 0; i < 500; i++) {
      expect(evaluate(a, { userId: `u${i}` }).variant).toBe(evaluate(b, { userId: `u${i}` }).variant);
    }
    // "other" sorts first, so it owns buckets [0, 1000).
    expect(evaluate(a, { userId: userWhere((x) => x < 1000) }).variant).toBe('other');
    expect(evaluate(a, { userId: userWhere((x) => x >= 1000 && x < 2000) }).variant).toBe('treatment');
  });

  it('is sticky: raising the rollout keeps every treated user in treatment', () => {
    const at5 = flag({ rules: [], rollout: { treatment: 500 } });
    const at15 = flag({ rules: [], rollout: { treatment: 1500 } });
    for (let i = 0; i < 2000; i++) {
      if (evaluate(at5, { userId: `u${i}` }).variant === 'treatment') {
        expect(evaluate(at15, { userId: `u${i}` }).variant).toBe('treatment');
      }
    }
  });

  it('draws a random bucket without a user id and marks the result unsticky', () => {
    const f = flag({ rules: [], rollout: { treatment: 5000 } });
    const results = Array.from({ length: 200 }, () => evaluate(f, { attributes: {} }));
    expect(results.every((r) => r.sticky === false && r.reason.endsWith(' (unsticky)'))).toBe(true);
    expect(new Set(results.map((r) => r.bucket)).size).toBeGreaterThan(100);
    expect(new Set(results.map((r) => r.reason))).toEqual(new Set(['rollout (unsticky)', 'default (unsticky)']));
    expect(evaluate(flag({ enabled: false }), { userId: '' }).reason).toBe('disabled (unsticky)');
  });
});

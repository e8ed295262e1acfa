import { changesOf, weightsOf, type Flag, type HistoryEntry } from './history';

const flag: Flag = {
  key: 'chat-model',
  description: '',
  enabled: true,
  variants: { control: 'gemini-2.5-flash', treatment: { model: 'deepseek-v3.2' } },
  defaultVariant: 'control',
  rollout: { treatment: 15 },
  rules: [],
  version: 3,
  policy: 'chat',
  archivedAt: null,
};
const entry = (before: Partial<Flag> | null, after: Partial<Flag>, action = 'rollout'): HistoryEntry => ({
  id: 1,
  version: 2,
  action,
  before: before === null ? null : { ...flag, ...before },
  after: { ...flag, ...after },
  actor: 'key:1 (ops)',
  source: 'api',
  reason: null,
  at: '2026-12-05T10:00:00.000Z',
});

describe('flag history as a person reads it', () => {
  it('names each changed field with its value before and after, and nothing else', () => {
    expect(changesOf(entry({ rollout: { treatment: 5 } }, { rollout: { treatment: 15 } }))).toEqual([
      { field: 'rollout', before: 'treatment: 5', after: 'treatment: 15' },
    ]);
    expect(changesOf(entry({ rollout: {} }, { rollout: { treatment: 5 }, enabled: false }))).toEqual([
      { field: 'enabled', before: 'true', after: 'false' },
      { field: 'rollout', before: '(none)', after: 'treatment: 5' },
    ]);
  });

  it('says what a flag was created with, and that a note changed nothing', () => {
    expect(changesOf(entry(null, {}, 'create'))).toEqual([
      { field: 'created', before: '', after: 'control: gemini-2.5-flash, treatment: {"model":"deepseek-v3.2"}' },
    ]);
    expect(changesOf(entry({}, {}, 'note'))).toEqual([]);
  });

  it('says that archiving archived the flag', () => {
    expect(changesOf(entry({}, { archivedAt: '2026-12-05T10:00:00.000Z' }, 'archive'))).toEqual([
      { field: 'archived', before: 'no', after: 'yes' },
    ]);
  });

  it('deals weights as the evaluator does: the default variant gets the rest, a killed flag all of it', () => {
    expect(weightsOf(flag)).toEqual({ control: 85, treatment: 15 });
    expect(weightsOf({ ...flag, rollout: { treatment: 33.33 } })).toEqual({ control: 66.67, treatment: 33.33 });
    expect(weightsOf({ ...flag, enabled: false })).toEqual({ control: 100, treatment: 0 });
  });
});

import { pairRowOf, type PairSide } from './shadow-pair';

const side = (overrides: Partial<PairSide>): PairSide => ({
  requestId: 'r',
  variant: 'control',
  model: 'm',
  outcome: 'ok',
  latencyMs: 10,
  ttftMs: null,
  promptTokens: 5,
  completionTokens: 5,
  costUsd: '0.000001',
  quality: 0,
  answer: { text: 'fraud', tools: [] },
  ...overrides,
});
const IDS = { id: 'p', canaryId: 'c', at: new Date(0) };

describe('pairRowOf', () => {
  it('keeps no answers when both sides agree', () => {
    const row = pairRowOf(IDS, side({}), side({ variant: 'treatment', answer: { text: 'Fraud.', tools: [] } }), 100);
    expect(row).toMatchObject({ exactAgreement: true, disagree: false, controlAnswer: null, candidateAnswer: null });
  });

  it('keeps both answers, cut to the configured length, and the tools called when they disagree', () => {
    const row = pairRowOf(
      IDS,
      side({ answer: { text: 'legit', tools: ['lookup_account'] } }),
      side({
        variant: 'treatment',
        answer: { text: 'fraud, because the card was used abroad', tools: ['block_card'] },
      }),
      10,
    );
    expect(row).toMatchObject({
      exactAgreement: false,
      toolsAgreement: false,
      disagree: true,
      controlAnswer: 'legit',
      candidateAnswer: 'fraud, bec',
      controlTools: ['lookup_account'],
      candidateTools: ['block_card'],
    });
  });

  it('disagrees when only the candidate shows a quality signal, or only one side answered', () => {
    expect(pairRowOf(IDS, side({}), side({ quality: 4, answer: { text: 'fraud', tools: [] } }), 10).disagree).toBe(
      true,
    );
    expect(pairRowOf(IDS, side({}), side({ outcome: 'timeout', answer: null, quality: null }), 10)).toMatchObject({
      disagree: true,
      exactAgreement: null,
    });
  });
});

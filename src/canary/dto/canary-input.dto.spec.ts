import { InvalidInput } from '../../common/request-errors';
import { operatorValidationPipe } from '../../common/validation';
import { CreateCanaryDto } from './canary-input.dto';

async function problems(value: unknown): Promise<string[]> {
  try {
    await operatorValidationPipe().transform(value, { type: 'body', metatype: CreateCanaryDto });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInput);
    return (error as InvalidInput).details;
  }
  throw new Error('expected the body to be refused');
}

const canary = { flagKey: 'checkout-model', variant: 'treatment' };

describe('CreateCanaryDto', () => {
  it('names a shadow field once, by its path, with the rule a live stage shares', async () => {
    const shadow = { percentage: 0, durationSeconds: 0, maxSpendUsd: 5, maxConcurrency: 1.5, minAgreementRate: 2 };
    expect(await problems({ ...canary, shadow })).toEqual([
      'shadow.percentage must be above 0',
      'shadow.durationSeconds must be at least 1',
      'shadow.maxConcurrency must be an integer between 1 and 1000',
      'shadow.minAgreementRate must be a share between 0 and 1',
    ]);
  });

  it('names a live stage field by its index', async () => {
    const stages = [{ percentage: 100.001, durationSeconds: -1 }];
    expect(await problems({ ...canary, stages, maxStageExtensions: 101 })).toEqual([
      'stages[0].percentage must be a number with at most 2 decimals',
      'stages[0].durationSeconds must not be negative',
      'maxStageExtensions must be an integer between 0 and 100',
    ]);
  });

  it('accepts a plan within every range', async () => {
    const value = {
      ...canary,
      stages: [{ percentage: 0.01, durationSeconds: 0 }],
      shadow: { percentage: 100, durationSeconds: 1, maxSpendUsd: 0.000001, maxConcurrency: 1000, minPairs: 1 },
      maxStageExtensions: 0,
    };
    await expect(
      operatorValidationPipe().transform(value, { type: 'body', metatype: CreateCanaryDto }),
    ).resolves.toBeInstanceOf(CreateCanaryDto);
  });
});

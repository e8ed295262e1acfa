import type { ArgumentMetadata } from '@nestjs/common';
import { CreateFlagDto, UpdateFlagDto } from '../flags/dto/flag-input.dto';
import { CreateOutcomeMetricDto, UpdateOutcomeMetricDto } from '../outcomes/dto/outcome-metric-input.dto';
import { InvalidInput } from './request-errors';
import { ContainsText, OptionalDescription } from './text-fields';
import { operatorValidationPipe } from './validation';

/** The problems the operator pipe answers for `value`, or [] when it takes it. */
async function problems(metatype: ArgumentMetadata['metatype'], value: unknown): Promise<string[]> {
  try {
    await operatorValidationPipe().transform(value, { type: 'body', metatype });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInput);
    const invalid = error as InvalidInput;
    return invalid.details.length > 0 ? invalid.details : [invalid.message];
  }
}

class TitleDto {
  @ContainsText('title must contain text')
  title: string;
}

class NoteDto {
  @OptionalDescription(20, { example: 'A note' })
  description?: string;
}

const BLANK_DESCRIPTION = 'description must contain text, not only whitespace; send "" for none';
const WHITESPACE = [' ', '   ', '\t', '\n', ' \r\n\t ', '\u00a0', '\u2003'];

describe('ContainsText', () => {
  it.each(WHITESPACE)('refuses whitespace alone (%j) with its message', async (blank) => {
    expect(await problems(TitleDto, { title: blank })).toEqual(['title must contain text']);
  });

  it('refuses "" unless the field takes it as none, and takes text with spaces around it', async () => {
    expect(await problems(TitleDto, { title: '' })).toEqual(['title must contain text']);
    expect(await problems(TitleDto, { title: '  a  ' })).toEqual([]);
  });
});

describe('OptionalDescription', () => {
  it.each(WHITESPACE)('refuses whitespace alone (%j), instead of storing it', async (blank) => {
    expect(await problems(NoteDto, { description: blank })).toEqual([BLANK_DESCRIPTION]);
  });

  it('takes "" (none: a change clears the description with it), text, or no description at all', async () => {
    expect(await problems(NoteDto, { description: '' })).toEqual([]);
    expect(await problems(NoteDto, { description: ' Checkout, cart ' })).toEqual([]);
    expect(await problems(NoteDto, {})).toEqual([]);
  });

  it('says a long blank description is blank, and what a description that is no text must be', async () => {
    expect(await problems(NoteDto, { description: ' '.repeat(21) })).toEqual([BLANK_DESCRIPTION]);
    expect(await problems(NoteDto, { description: 'x'.repeat(21) })).toEqual([
      'description must be at most 20 characters',
    ]);
    expect(await problems(NoteDto, { description: 7 })).toEqual(['description must be a string']);
    expect(await problems(NoteDto, { description: null })).toEqual([
      'description must not be null: leave it out instead',
    ]);
  });

  it("holds every operator API description to it: flags' and outcome metrics', created or changed", async () => {
    const flag = { key: 'checkout-model', variants: { control: 'gpt-4.1' }, defaultVariant: 'control' };
    const metric = { key: 'checkout_converted', type: 'binary', direction: 'higher_is_better', unit: 'user' };
    const cases: Array<[ArgumentMetadata['metatype'], Record<string, unknown>]> = [
      [CreateFlagDto, flag],
      [UpdateFlagDto, { version: 1 }],
      [CreateOutcomeMetricDto, metric],
      [UpdateOutcomeMetricDto, { version: 1 }],
    ];
    for (const [dto, body] of cases) {
      expect(await problems(dto, { ...body, description: ' \n ' })).toEqual([BLANK_DESCRIPTION]);
      expect(await problems(dto, { ...body, description: '' })).toEqual([]);
      expect(await problems(dto, { ...body, description: 'Bought within a day' })).toEqual([]);
    }
  });
});

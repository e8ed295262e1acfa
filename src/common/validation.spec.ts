import type { ArgumentMetadata } from '@nestjs/common';
import { CreateApiKeyDto } from '../access/dto/create-api-key.dto';
import { ListAlertsQueryDto } from '../alerts/dto/list-alerts-query.dto';
import { CreateFlagDto, UpdateFlagDto } from '../flags/dto/flag-input.dto';
import { InvalidInput } from './request-errors';
import { operatorValidationPipe } from './validation';

async function problems(metatype: ArgumentMetadata['metatype'], value: unknown, type: 'body' | 'query' = 'body') {
  try {
    await operatorValidationPipe().transform(value, { type, metatype });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInput);
    const invalid = error as InvalidInput;
    return invalid.details.length > 0 ? invalid.details : [invalid.message];
  }
  throw new Error('expected the value to be refused');
}

const flag = { key: 'checkout-model', variants: { control: 'gpt-4.1' }, defaultVariant: 'control' };

describe('operatorValidationPipe', () => {
  it('says a missing field is required, once, instead of listing every rule it breaks', async () => {
    const { key: _key, ...withoutKey } = flag;
    expect(await problems(CreateFlagDto, withoutKey)).toEqual(['key is required']);
    expect(await problems(CreateApiKeyDto, { name: 'search-team' })).toEqual(['scopes is required']);
    expect(await problems(CreateFlagDto, { ...flag, key: null })).toEqual(['key must not be null']);
  });

  it('refuses null for a field that may be left out, instead of skipping it as if it were', async () => {
    expect(await problems(CreateFlagDto, { ...flag, enabled: null })).toEqual([
      'enabled must not be null: leave it out instead',
    ]);
    expect(await problems(UpdateFlagDto, { version: 2, variants: null })).toEqual(['variants must not be null']);
  });

  it('reports what a field is before what it may hold', async () => {
    expect(await problems(CreateFlagDto, { ...flag, key: 5 })).toEqual([
      'key must be a lower-case slug (a-z, 0-9 and single dashes), e.g. recommendations-model',
    ]);
    expect(await problems(CreateApiKeyDto, { name: 'x', scopes: 'admin' })).toEqual([
      'scopes must be a list of: gateway, read, admin',
    ]);
  });

  it('gives one message for a query value that breaks several rules', async () => {
    expect(await problems(ListAlertsQueryDto, { limit: 'abc' }, 'query')).toEqual([
      'limit must be an integer between 1 and 200',
    ]);
  });

  it('tells a blank reason it is blank, however long, and a reason that is not text what it must be', async () => {
    const blank = 'reason must not be blank; leave it out for none';
    expect(await problems(CreateFlagDto, { ...flag, reason: ' \n' })).toEqual([blank]);
    expect(await problems(CreateFlagDto, { ...flag, reason: ' '.repeat(2001) })).toEqual([blank]);
    expect(await problems(CreateFlagDto, { ...flag, reason: 7 })).toEqual(['reason must be a string']);
  });

  it('names nested fields by their whole path', async () => {
    const rules = [
      {
        name: 'ok',
        conditions: [{ attribute: 'country', operator: 'in', values: ['SG'] }],
        serve: { variant: 'control' },
      },
      { name: 'bad', conditions: [{ attribute: 'country', operator: 'like', values: ['SG'] }] },
    ];
    expect(await problems(CreateFlagDto, { ...flag, rules })).toEqual([
      expect.stringMatching(/^rules\[1\]\.conditions\[0\]\.operator must be one of/),
      'rules[1].serve is required',
    ]);
  });

  it('names an unknown field and asks to remove it', async () => {
    expect(await problems(CreateApiKeyDto, { name: 'x', scopes: ['read'], colour: 'red' })).toEqual([
      'colour is not a field of this request; remove it',
    ]);
  });

  it('refuses a body that is not an object', async () => {
    expect(await problems(CreateApiKeyDto, [1, 2])).toEqual(['the request body must be a JSON object']);
  });

  it('lists every field with a problem, each once', async () => {
    expect(await problems(CreateApiKeyDto, { scopes: ['superuser'], requestsPerMinute: 0 })).toEqual([
      'name is required',
      'scopes must each be one of: gateway, read, admin',
      'requestsPerMinute must be an integer between 1 and 1000000',
    ]);
  });
});

import { topLevelValueSpan } from './json-span';

const valueOf = (json: string, key: string) => {
  const bytes = Buffer.from(json);
  const span = topLevelValueSpan(bytes, key);
  return span && bytes.subarray(span[0], span[1]).toString('utf8');
};

describe('topLevelValueSpan', () => {
  it('finds the raw text of a top-level value, whatever its kind', () => {
    const json =
      '{"model":"gpt-4.1", "n": 2 ,"stream":true,"stop":null,"messages":[{"role":"user","content":"hi"}],"x":{"a":[1,{"b":"]"}]}}';
    expect(valueOf(json, 'messages')).toBe('[{"role":"user","content":"hi"}]');
    expect(valueOf(json, 'model')).toBe('"gpt-4.1"');
    expect(valueOf(json, 'n')).toBe('2');
    expect(valueOf(json, 'stream')).toBe('true');
    expect(valueOf(json, 'stop')).toBe('null');
    expect(valueOf(json, 'x')).toBe('{"a":[1,{"b":"]"}]}');
    expect(valueOf(json, 'missing')).toBeUndefined();
  });

  it('is not fooled by brackets, quotes and keys inside strings, nor by nested keys of the same name', () => {
    const content = 'a "quoted" \\\\ backslash, brackets ]} and a fake "messages": [] key, emoji 😀 and ünïcödé';
    const json = JSON.stringify({ meta: { messages: 'nested' }, messages: [{ role: 'user', content }], after: 1 });
    expect(JSON.parse(valueOf(json, 'messages')!)).toEqual([{ role: 'user', content }]);
  });

  it('takes the last of duplicate keys, as JSON.parse does, and tolerates whitespace everywhere', () => {
    const json = ' \n{ "messages" : [1] ,\n\t"messages"\r\n:\n[ 2 , 3 ] \n}\n';
    expect(valueOf(json, 'messages')).toBe('[ 2 , 3 ]');
    expect(JSON.parse(json).messages).toEqual([2, 3]);
  });

  it('gives up on a key written with escapes: the caller serialises instead', () => {
    expect(valueOf('{"m\\u0065ssages":[1]}', 'messages')).toBeUndefined();
  });
});

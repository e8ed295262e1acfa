import { MAX_JSON_DEPTH, pathDeeperThan } from './json-depth';

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value];
  return value;
}

describe('pathDeeperThan', () => {
  it('accepts a body nested exactly to the limit', () => {
    expect(pathDeeperThan(nested(MAX_JSON_DEPTH))).toBeUndefined();
  });

  it('names the path where a body goes one level past the limit', () => {
    const path = pathDeeperThan({ messages: [{ content: nested(MAX_JSON_DEPTH) }] });
    expect(path).toMatch(/^messages\[0\]\.content/);
  });

  it('handles 100 000 levels without overflowing the stack', () => {
    expect(pathDeeperThan(nested(100_000))).toBeDefined();
  });

  it('accepts scalars and flat bodies', () => {
    expect(pathDeeperThan('text')).toBeUndefined();
    expect(pathDeeperThan({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })).toBeUndefined();
  });
});

import { duplicateKeyProblem } from './json-duplicate-keys';

const problemIn = (text: string) => duplicateKeyProblem(Buffer.from(text))?.message;

describe('duplicateKeyProblem', () => {
  it('names the key given twice and the object it is in', () => {
    expect(problemIn('{"a":1,"a":2}')).toBe(
      '(root): the field "a" is given twice; send it once (JSON keeps only the last, silently)',
    );
    expect(problemIn('{"x":{"y":[{"z":1},{"z":1,"z":2}]}}')).toMatch(/^x\.y\[1\]: the field "z"/);
    expect(problemIn('[[1,{"k":1}],{"k":[{}],"k":0}]')).toMatch(/^\[1\]: the field "k"/);
    expect(duplicateKeyProblem(Buffer.from('{"a":{"b":1,"b":2}}'))?.param).toBe('a.b');
  });

  it('compares keys as JSON.parse reads them, escapes decoded', () => {
    expect(problemIn('{"tre\\u0061t":1,"treat":2}')).toMatch(/the field "treat"/);
    expect(problemIn('{"q\\"":1,"q\\u0022":2}')).toMatch(/the field "q\\""/);
  });

  it('passes equal keys in different objects, equal values, and brackets, quotes or colons inside strings', () => {
    expect(problemIn('{"a":{"a":"a"},"b":{"a":"a"},"c":[{"a":1},{"a":1}]}')).toBeUndefined();
    expect(problemIn('{"a":"}{\\"a\\":","b":"[,]","c":"a:"}')).toBeUndefined();
    expect(problemIn('{"v":["a","a"],"w":"a"}')).toBeUndefined();
  });

  it('leaves text that is not JSON to the parser', () => {
    for (const text of ['', '{', '{"a', '}}]]{"a":1,', '"just a string"', '{"a":"\\ud800"}'])
      expect(problemIn(text)).toBeUndefined();
  });
});

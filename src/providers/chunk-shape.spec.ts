import { chunkShapeProblem, errorOfEvent, NO_CHOICES, NOT_AN_OBJECT, NOT_JSON } from './chunk-shape';

/** A chunk as OpenAI streams one. */
const CHUNK = `data: ${JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1700000000,
  model: 'gpt-4.1',
  choices: [{ index: 0, delta: { content: 'Hi' }, logprobs: null, finish_reason: null }],
})}`;

describe('chunkShapeProblem', () => {
  it.each([
    ['a chunk', CHUNK],
    ['the usage chunk', 'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}'],
    ['an error event (the relay answers it with its own)', 'data: {"error":{"message":"overloaded","type":"x"}}'],
    ['[DONE]', 'data: [DONE]'],
    ['a comment (a keep-alive)', ': OPENROUTER PROCESSING'],
    ['an event with neither data nor a name', 'id: 7\nretry: 1000'],
    ['data without the space', 'data:{"choices":[]}'],
    ['whitespace around the JSON and in it', 'data:   { "choices" : [ ] , "n" : -1.5e3 , "b" : true }  '],
    ['the JSON over two data lines, joined as SSE joins them', 'data: {"choices":\ndata: []}'],
    ['lines that end in CRLF', 'event: chunk\r\ndata: {"choices":[]}\r'],
    ['brackets, quotes and escapes inside strings', 'data: {"choices":[{"delta":{"content":"}]\\" [{ \\\\"}}]}'],
    ['text beyond ASCII inside strings', 'data: {"choices":[{"delta":{"content":"Grüße, 世界 🌍"}}]}'],
    ['nesting deeper than the scan starts with', `data: {"choices":[${'['.repeat(200)}${']'.repeat(200)}]}`],
  ])('accepts %s', (_, event) => {
    expect(chunkShapeProblem(event)).toBeUndefined();
  });

  it.each([
    ['text', 'data: Internal Server Error', NOT_AN_OBJECT],
    ['HTML', 'data: <html><body>502 Bad Gateway</body></html>', NOT_AN_OBJECT],
    ['an array', 'data: [{"choices":[]}]', NOT_AN_OBJECT],
    ['a number', 'data: 42', NOT_AN_OBJECT],
    ['null', 'data: null', NOT_AN_OBJECT],
    ['empty data', 'data:', NOT_JSON],
    ['a named event without data (clients parse its data, "")', 'event: ping', NOT_JSON],
    ['two chunks run together on one line', `${CHUNK}${CHUNK.slice('data: '.length)}`, NOT_JSON],
    ['two chunks in one event (a blank line lost)', `${CHUNK}\n${CHUNK}`, NOT_JSON],
    ['text after the object', 'data: {"choices":[]} ok', NOT_JSON],
    ['a bracket that closes the wrong one', 'data: {"choices":[}]', NOT_JSON],
    ['a closing bracket too many', 'data: {"choices":[]}}', NOT_JSON],
    ['markup between values', 'data: {"choices":[<b>1</b>]}', NOT_JSON],
    ['a string never closed', 'data: {"choices":["hi}]}', NOT_JSON],
    ['an object without choices', 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk"}', NO_CHOICES],
    ['choices that are no array', 'data: {"choices":{"0":{}}}', NO_CHOICES],
    ['choices null', 'data: {"choices":null}', NO_CHOICES],
    ['choices only inside another object', 'data: {"data":{"choices":[]}}', NO_CHOICES],
    ['"choices" as a value, not a key', 'data: {"kind":"choices","x":[]}', NO_CHOICES],
    ['an error that is a string', 'data: {"error":"overloaded"}', NO_CHOICES],
  ])('refuses %s', (_, event, problem) => {
    expect(chunkShapeProblem(event)).toBe(problem);
  });

  it('refuses a chunk cut off anywhere', () => {
    for (let end = 'data:'.length; end < CHUNK.length; end++) {
      const cut = CHUNK.slice(0, end);
      expect([cut, chunkShapeProblem(cut)]).toEqual([cut, expect.any(String)]);
    }
  });

  it('is not fooled after a deep event has grown its bracket stack', () => {
    expect(chunkShapeProblem(`data: {"choices":[${'['.repeat(500)}${']'.repeat(500)}]}`)).toBeUndefined();
    expect(chunkShapeProblem('data: {"choices":[[}]}')).toBe(NOT_JSON);
    expect(chunkShapeProblem(CHUNK)).toBeUndefined();
  });
});

describe('errorOfEvent', () => {
  it.each([
    ['an error event', 'data: {"error":{"message":"overloaded","type":"server_error"}}'],
    ['one over two data lines, with CRLF', 'event: error\r\ndata: {"error":\r\ndata: {"type":"server_error"}}\r'],
    ["Anthropic's, whose object has a type beside its error", 'data: {"type":"error","error":{"type":"server_error"}}'],
    ['one that also has choices', 'data: {"choices":[],"error":{"type":"server_error"}}'],
  ])("finds the upstream's error in %s", (_, event) => {
    expect(errorOfEvent(event)).toMatchObject({ type: 'server_error' });
  });

  it.each([
    ['a chunk', CHUNK],
    ['a chunk whose content quotes "error"', 'data: {"choices":[{"delta":{"content":"an \\"error\\": {}"}}]}'],
    ['an error that is no object', 'data: {"error":"overloaded"}'],
    ['an error that is an array', 'data: {"error":[{"type":"server_error"}]}'],
    ['data that is not JSON', 'data: {"error":{'],
    ['[DONE]', 'data: [DONE]'],
    ['a comment', ': "error"'],
  ])('finds none in %s', (_, event) => {
    expect(errorOfEvent(event)).toBeUndefined();
  });
});

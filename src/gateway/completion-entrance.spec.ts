import { isChatCompletionsUrl } from './completion-entrance';

describe('isChatCompletionsUrl: every spelling Express routes to /v1/chat/completions', () => {
  it.each([
    '/v1/chat/completions',
    '/v1/chat/completions/',
    '/v1/chat/completions?api-version=1',
    '/v1/chat/completions/?a=1&b=2',
    '/V1/Chat/Completions',
    'http://gateway.internal/v1/chat/completions?x=1',
  ])('takes %s', (url) => expect(isChatCompletionsUrl(url)).toBe(true));

  it.each([
    undefined,
    '/',
    '/v1/chat/completions//',
    '/v1/chat/completionsx',
    '/v1/chat/completion',
    '/v1/chat/completions/extra',
    '//v1/chat/completions',
    '/api/v1/chat/completions',
    'http://[bad',
  ])('leaves %s to Express', (url) => expect(isChatCompletionsUrl(url)).toBe(false));
});

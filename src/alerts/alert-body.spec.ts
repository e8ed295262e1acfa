import { createHmac } from 'node:crypto';
import { renderBody, signatureOf, slackBody, toPayload, type AlertFields } from './alert-body';
import { isWebhookUrl, urlOrigin } from './webhook-url';

const alert: AlertFields = {
  id: '0b6f3c1e-2f5d-4f7a-9d51-6f0e1c2a7b11',
  type: 'canary.rolled_back',
  severity: 'critical',
  flagKey: 'recommendations-model',
  canaryId: '7c1d2e3f-0000-4000-8000-000000000001',
  stage: 2,
  message: 'Treatment error rate 4.1% > 2% <rolled back>',
  evidence: { errorRate: 0.041, requests: 612 },
  createdAt: new Date('2026-11-24T17:05:00.000Z'),
};

describe('alert payload', () => {
  it('has exactly the documented fields', () => {
    expect(toPayload(alert)).toEqual({
      id: alert.id,
      type: 'canary.rolled_back',
      severity: 'critical',
      flag: 'recommendations-model',
      canary: alert.canaryId,
      stage: 2,
      message: alert.message,
      evidence: { errorRate: 0.041, requests: 612 },
      time: '2026-11-24T17:05:00.000Z',
    });
  });

  it('renders the JSON body as the payload itself', () => {
    expect(JSON.parse(renderBody(toPayload(alert), 'json').toString('utf8'))).toEqual(toPayload(alert));
  });

  it('renders a Slack body: an escaped one-line text and blocks with where and evidence', () => {
    const body = slackBody(toPayload(alert));
    expect(body.text).toBe(
      ':rotating_light: [critical] canary.rolled_back (flag recommendations-model, canary 7c1d2e3f-0000-4000-8000-000000000001, stage 2): ' +
        'Treatment error rate 4.1% &gt; 2% &lt;rolled back&gt;',
    );
    const serialized = JSON.stringify(body.blocks);
    expect(serialized).toContain('*Flag*\\nrecommendations-model');
    expect(serialized).toContain('*Stage*\\n2');
    expect(serialized).toContain('\\"errorRate\\": 0.041');
    expect(serialized).toContain(alert.id);
    expect(JSON.parse(renderBody(toPayload(alert), 'slack').toString('utf8'))).toEqual(body);
  });

  it('leaves out empty parts of the Slack body and shortens huge evidence', () => {
    const bare = slackBody(toPayload({ ...alert, flagKey: null, canaryId: null, stage: null, evidence: {} }));
    expect(bare.text).toBe(
      ':rotating_light: [critical] canary.rolled_back: Treatment error rate 4.1% &gt; 2% &lt;rolled back&gt;',
    );
    expect(bare.blocks.map((block) => (block as { type: string }).type)).toEqual(['section', 'context']);
    const huge = slackBody(toPayload({ ...alert, evidence: { samples: 'x'.repeat(10_000) } }));
    for (const block of huge.blocks) expect(JSON.stringify(block).length).toBeLessThan(3100);
  });
});

describe('signatureOf', () => {
  it('is sha256=<hex HMAC-SHA256 of the exact bytes>', () => {
    const body = Buffer.from('{"a":1}');
    const expected = createHmac('sha256', 'a-secret-of-16-chars').update(body).digest('hex');
    expect(signatureOf(body, 'a-secret-of-16-chars')).toBe(`sha256=${expected}`);
    expect(signatureOf(Buffer.from('{"a": 1}'), 'a-secret-of-16-chars')).not.toBe(`sha256=${expected}`);
  });
});

describe('webhook URLs', () => {
  it('shows only scheme and host, never the path (a Slack token) or credentials', () => {
    expect(urlOrigin('https://hooks.slack.com/services/T000/B000/XXXXSECRET')).toBe('https://hooks.slack.com');
    expect(urlOrigin('http://user:pass@127.0.0.1:8080/hook?token=abc')).toBe('http://127.0.0.1:8080');
    expect(urlOrigin('not a url')).toBe('(invalid URL)');
  });

  it('accepts http(s) URLs only', () => {
    expect(isWebhookUrl('https://hooks.example.internal/canary')).toBe(true);
    expect(isWebhookUrl('http://127.0.0.1:9000/hook')).toBe(true);
    expect(isWebhookUrl('ftp://example.com/x')).toBe(false);
    expect(isWebhookUrl('hooks.example.internal/canary')).toBe(false);
  });
});

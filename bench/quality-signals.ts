import { request } from 'undici';
import { PLAIN_EXPECTATION, qualityOfAnswer, StreamQuality } from '../src/gateway/answer-quality';
import { promptMessages } from './prompts';
import type { Check, Report } from './report';
import type { StartedTarget } from './targets';

/**
 * (#15) What the built-in answer-quality signals cost the gateway per request, measured in the run
 * on the answers (c) itself gives to the bench's 1 KB request: the signal code alone, timed over many
 * repetitions on a plain answer's parsed body (the body is parsed anyway, for its usage) and on a
 * stream's events. Its check: that cost is below the round-to-round spread of (c)'s own CPU per
 * request, so no throughput difference it makes can be told from the noise.
 */

const REPETITIONS = 200_000;

interface SignalCost {
  plainUs: number;
  streamUs: number;
}

async function answersOf(gateway: StartedTarget): Promise<{ plain: Record<string, unknown>; events: string[] }> {
  const ask = async (stream: boolean) => {
    const response = await request(`http://127.0.0.1:${gateway.port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway.adminKey}` },
      body: JSON.stringify({ model: 'route:recommendations', messages: promptMessages('1k'), stream }),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200)
      throw new Error(`the gateway answered ${response.statusCode}: ${text.slice(0, 200)}`);
    return text;
  };
  const plain = JSON.parse(await ask(false)) as Record<string, unknown>;
  // The events as the relay sees them: one `data: …` block each.
  const events = (await ask(true))
    .split('\n\n')
    .filter((event) => event.startsWith('data: ') && !event.includes('[DONE]'));
  return { plain, events };
}

function timeUs(work: () => number): number {
  let sink = 0;
  for (let i = 0; i < REPETITIONS / 10; i++) sink += work(); // warm-up: optimised code is what serves
  const started = process.hrtime.bigint();
  for (let i = 0; i < REPETITIONS; i++) sink += work();
  const elapsed = Number(process.hrtime.bigint() - started) / 1000;
  if (sink < 0) throw new Error('unreachable: keeps the work from being optimised away');
  return elapsed / REPETITIONS;
}

async function measureSignalCost(gateway: StartedTarget): Promise<SignalCost> {
  const { plain, events } = await answersOf(gateway);
  const plainUs = timeUs(() => qualityOfAnswer(plain, PLAIN_EXPECTATION));
  const streamUs = timeUs(() => {
    const quality = new StreamQuality(PLAIN_EXPECTATION);
    for (const event of events) quality.observe(event);
    return quality.mask();
  });
  return { plainUs, streamUs };
}

export async function qualitySignalChecks(gateway: StartedTarget): Promise<(report: Report) => Promise<Check[]>> {
  const cost = await measureSignalCost(gateway);
  return async (report) => {
    const plain = report.targets.find((t) => t.id === 'gateway' && t.status === 'measured');
    const size = plain?.sizes['1k'];
    const range = size?.cpuUsPerRequestRange;
    const worst = Math.max(cost.plainUs, cost.streamUs);
    const noise = range ? (range[1] - range[0]) / 2 : undefined;
    return [
      {
        name: `quality signals' CPU per request (1k answer, plain / streamed) below the round-to-round noise of (c)'s CPU per request`,
        value:
          `${cost.plainUs.toFixed(2)} / ${cost.streamUs.toFixed(2)} µs` +
          (size?.cpuUsPerRequest
            ? ` (${((100 * worst) / size.cpuUsPerRequest).toFixed(2)}% of ${size.cpuUsPerRequest.toFixed(0)} µs)`
            : ''),
        limit:
          noise === undefined
            ? 'n/a (needs the 1k throughput of (c))'
            : `< ±${noise.toFixed(1)} µs (half its slices' range)`,
        pass: noise === undefined ? null : worst < noise,
      },
    ];
  };
}

import type { ServerResponse } from 'node:http';

const GATHERED = Symbol('switchyard.answerHeaders');
type Gathering = ServerResponse & { [GATHERED]?: Array<string | number> };

/**
 * The headers of one completion answer, gathered as the stages learn them (request id, rate limits,
 * route, attempts) and written once with the head as one flat list: Node then builds the head
 * straight from the list. Each `res.setHeader` instead keeps an entry in a header map (a check, a
 * lower-casing and an allocation per call) that writeHead walks again; on the gateway's hottest path
 * that was a measurable share of its CPU and allocations (docs/benchmarks.md).
 *
 * Names are lower case; setting one again replaces its value, as setHeader does.
 */
export function setAnswerHeader(res: ServerResponse, name: string, value: string): void {
  const gathered = ((res as Gathering)[GATHERED] ??= []);
  for (let i = 0; i < gathered.length; i += 2) {
    if (gathered[i] === name) {
      gathered[i + 1] = value;
      return;
    }
  }
  gathered.push(name, value);
}

/** Everything gathered, followed by `last` (content type, length, Server-Timing), as writeHead takes it. */
export function answerHeaders(res: ServerResponse, last: Array<string | number>): Array<string | number> {
  const gathered = (res as Gathering)[GATHERED];
  if (!gathered) return last;
  for (const item of last) gathered.push(item);
  return gathered;
}

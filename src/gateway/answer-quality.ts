import { QUALITY_BIT } from '../metrics/quality-signals';
import { violatesSchema } from './json-schema-check';

/*
 * The built-in answer-quality signals of one answer (metrics/quality-signals.ts), computed from what
 * the gateway holds anyway: the parsed JSON body of a plain answer, or the events of a stream as they
 * are relayed. A plain request costs a few property reads (JSON answer) or a few string tests per
 * event (stream); only a request that asked for JSON or offered tools has its content or its tool
 * calls' arguments parsed, and what a stream accumulates for that is bounded.
 */

/** What the request asked of the answer that the signals check. */
export interface QualityExpectation {
  /** `response_format`: none, json_object, or json_schema (with its schema when one is given). */
  json: 'none' | 'object' | 'schema';
  schema: unknown;
  /** The request offered tools (or legacy functions): tool calls' arguments are parsed. */
  tools: boolean;
}

export const PLAIN_EXPECTATION: QualityExpectation = Object.freeze({ json: 'none', schema: undefined, tools: false });

/**
 * Past this much content or arguments JSON is not judged (no false alarm, and no parse of megabytes
 * on the event loop); a stream stops accumulating there.
 */
export const MAX_ACCUMULATED_CHARS = 1_000_000;

/** Read once from the validated request body. */
export function qualityExpectationOf(body: Record<string, unknown>): QualityExpectation {
  const format = body.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | null | undefined;
  const tools = (Array.isArray(body.tools) && body.tools.length > 0) || Array.isArray(body.functions);
  const type = typeof format === 'object' && format !== null ? format.type : undefined;
  if (type === 'json_object') return { json: 'object', schema: undefined, tools };
  if (type === 'json_schema') return { json: 'schema', schema: format?.json_schema?.schema, tools };
  return tools ? { json: 'none', schema: undefined, tools } : PLAIN_EXPECTATION;
}

/** The signals of a plain (non-streamed) answer, from its parsed body. */
export function qualityOfAnswer(body: Record<string, unknown>, expect: QualityExpectation): number {
  const choices = body.choices;
  if (!Array.isArray(choices) || choices.length === 0) return QUALITY_BIT.empty_answer;
  let mask = 0;
  for (const choice of choices) {
    const { message, finish_reason: finish } = (choice ?? {}) as { message?: unknown; finish_reason?: unknown };
    const {
      content,
      refusal,
      tool_calls: toolCalls,
      function_call: functionCall,
    } = (message ?? {}) as Record<string, unknown>;
    const text = textOf(content);
    const calls = Array.isArray(toolCalls) ? toolCalls : [];
    const refused = typeof refusal === 'string' && refusal !== '';
    if (refused) mask |= QUALITY_BIT.refusal;
    if (finish === 'length') mask |= QUALITY_BIT.truncated;
    if (text === '' && calls.length === 0 && !functionCall && !refused) mask |= QUALITY_BIT.empty_answer;
    if (text !== '' && expect.json !== 'none' && text.length <= MAX_ACCUMULATED_CHARS)
      mask |= jsonSignals(text, expect);
    for (const call of calls) {
      const args = (call as { function?: { arguments?: unknown } } | null)?.function?.arguments;
      if (!isJudgedJsonText(args)) mask |= QUALITY_BIT.malformed_tool_call;
    }
    if (functionCall && !isJudgedJsonText((functionCall as { arguments?: unknown }).arguments))
      mask |= QUALITY_BIT.malformed_tool_call;
  }
  return mask;
}

// Key followed by a non-empty string value. Inside a JSON string a quote is escaped (\"), so these
// only match the keys themselves, never text that quotes them.
const CONTENT = /"content"\s*:\s*"(?!")/;
const REFUSAL = /"refusal"\s*:\s*"(?!")/;
const TOOL_CALLS = /"(?:tool_calls|function_call)"\s*:\s*[[{]/;
const LENGTH = /"finish_reason"\s*:\s*"length"/;

/**
 * The signals of a stream, event by event as it is relayed. A plain request: four string tests per
 * event, each skipped once its answer is known. A request for JSON or with tools also parses each
 * event's data to accumulate the content and the tool calls' arguments (bounded by
 * MAX_ACCUMULATED_CHARS).
 */
export class StreamQuality {
  private sawContent = false;
  private sawToolCall = false;
  private refused = false;
  private truncated = false;
  private readonly parses: boolean;
  /** Per choice (`n` > 1 streams interleave their choices' deltas), by the choice's index. */
  private readonly contents = new Map<number, string>();
  /** Per choice and tool call: `${choice}:${call}` (the legacy function_call is call -1). */
  private readonly args = new Map<string, string>();
  private accumulated = 0;
  private overflow = false;

  constructor(private readonly expect: QualityExpectation) {
    this.parses = expect.json !== 'none' || expect.tools;
  }

  observe(event: string): void {
    if (!this.sawContent && CONTENT.test(event)) this.sawContent = true;
    if (!this.refused && REFUSAL.test(event)) this.refused = true;
    if (!this.truncated && LENGTH.test(event)) this.truncated = true;
    const toolEvent = TOOL_CALLS.test(event);
    if (toolEvent) this.sawToolCall = true;
    if (this.parses && !this.overflow && (this.expect.json !== 'none' || toolEvent)) this.accumulate(event);
  }

  mask(): number {
    let mask = 0;
    if (this.refused) mask |= QUALITY_BIT.refusal;
    if (this.truncated) mask |= QUALITY_BIT.truncated;
    if (!this.sawContent && !this.sawToolCall && !this.refused) mask |= QUALITY_BIT.empty_answer;
    if (this.overflow) return mask;
    if (this.expect.json !== 'none')
      for (const content of this.contents.values()) if (content !== '') mask |= jsonSignals(content, this.expect);
    for (const args of this.args.values()) if (!isJsonText(args)) mask |= QUALITY_BIT.malformed_tool_call;
    return mask;
  }

  private accumulate(event: string): void {
    const data = dataOf(event);
    if (data === undefined) return;
    const choices = (data as { choices?: unknown }).choices;
    if (!Array.isArray(choices)) return;
    for (const choice of choices as Array<{ index?: unknown; delta?: Record<string, unknown> } | null>) {
      const delta = choice?.delta;
      if (!delta) continue;
      const at = typeof choice.index === 'number' ? choice.index : 0;
      if (typeof delta.content === 'string')
        this.add(delta.content, (text) => this.contents.set(at, (this.contents.get(at) ?? '') + text));
      const calls = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
      for (const call of calls as Array<{ index?: unknown; function?: { arguments?: unknown } }>) {
        const key = `${at}:${typeof call?.index === 'number' ? call.index : 0}`;
        const piece = call?.function?.arguments;
        if (!this.args.has(key)) this.args.set(key, '');
        if (typeof piece === 'string') this.add(piece, (text) => this.args.set(key, this.args.get(key) + text));
      }
      const legacy = (delta.function_call as { arguments?: unknown } | undefined)?.arguments;
      const legacyKey = `${at}:-1`;
      if (typeof legacy === 'string')
        this.add(legacy, (text) => this.args.set(legacyKey, (this.args.get(legacyKey) ?? '') + text));
    }
  }

  private add(text: string, append: (text: string) => void): void {
    this.accumulated += text.length;
    if (this.accumulated > MAX_ACCUMULATED_CHARS) {
      this.overflow = true;
      this.contents.clear();
      this.args.clear();
      return;
    }
    append(text);
  }
}

function jsonSignals(text: string, expect: QualityExpectation): number {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return QUALITY_BIT.invalid_json;
  }
  if (expect.json === 'schema' && expect.schema !== undefined && violatesSchema(value, expect.schema))
    return QUALITY_BIT.json_schema_violation;
  return 0;
}

/** JSON text, or text too long to judge (a plain answer's own bound, as a stream's). */
function isJudgedJsonText(value: unknown): boolean {
  return typeof value === 'string' && value.length > MAX_ACCUMULATED_CHARS ? true : isJsonText(value);
}

function isJsonText(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
}

/** A message's text: a string, or the text parts of a list of parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    const piece = (part as { text?: unknown } | null)?.text;
    if (typeof piece === 'string') text += piece;
  }
  return text;
}

function dataOf(event: string): unknown {
  const start = event.indexOf('data:');
  if (start < 0) return undefined;
  try {
    return JSON.parse(event.slice(start + 5));
  } catch {
    return undefined;
  }
}

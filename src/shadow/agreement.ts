/*
 * What two answers to the same prompt have in common, from their text and the tools they called:
 * exact agreement after normalisation (for temperature-0 classification, the label), the same set
 * of tool names, and the length ratio. Pure functions; the answers come from the pipeline.
 */

/** Past this much text an answer is no longer accumulated (agreement is then on its first part). */
export const MAX_CAPTURED_CHARS = 64 * 1024;

/** An answer's text and the names of the tools it called. */
export interface CapturedAnswer {
  text: string;
  tools: string[];
}

/** The first choice's text and tool names of a plain (non-streamed) answer's body. */
export function answerOfBody(body: Record<string, unknown>): CapturedAnswer {
  const choice = Array.isArray(body.choices) ? (body.choices[0] as Record<string, unknown> | undefined) : undefined;
  const message = (choice?.message ?? {}) as Record<string, unknown>;
  const tools: string[] = [];
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls as Array<{ function?: { name?: unknown } }>) {
      if (typeof call?.function?.name === 'string') tools.push(call.function.name);
    }
  }
  const legacy = (message.function_call as { name?: unknown } | undefined)?.name;
  if (typeof legacy === 'string') tools.push(legacy);
  return { text: textOf(message.content).slice(0, MAX_CAPTURED_CHARS), tools };
}

/** A stream's answer, event by event: the first choice's content deltas and tool-call names. */
export class StreamCapture {
  private text = '';
  private readonly tools: string[] = [];

  observe(event: string): void {
    if (!event.includes('"delta"')) return;
    const start = event.indexOf('data:');
    let data: { choices?: Array<{ index?: number; delta?: Record<string, unknown> }> };
    try {
      data = JSON.parse(event.slice(start + 5)) as typeof data;
    } catch {
      return;
    }
    const choice = data.choices?.find((one) => (one.index ?? 0) === 0);
    const delta = choice?.delta;
    if (!delta) return;
    if (typeof delta.content === 'string' && this.text.length < MAX_CAPTURED_CHARS) {
      this.text = (this.text + delta.content).slice(0, MAX_CAPTURED_CHARS);
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as Array<{ function?: { name?: unknown } }>) {
        if (typeof call?.function?.name === 'string' && call.function.name !== '') this.tools.push(call.function.name);
      }
    }
  }

  answer(): CapturedAnswer {
    return { text: this.text, tools: [...this.tools] };
  }
}

/**
 * The text compared: JSON in canonical form (keys sorted, no spaces) when it parses; otherwise
 * lower case, whitespace collapsed, quotes and punctuation around it dropped ("Fraud." = "fraud").
 */
export function normalised(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.stringify(canonical(JSON.parse(trimmed)));
    } catch {
      // not JSON: compared as text
    }
  }
  return trimmed
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/^[\s"'`.,;:!?()[\]]+|[\s"'`.,;:!?()[\]]+$/g, '');
}

export interface Agreement {
  /** Null when either side has no text. */
  exactAgreement: boolean | null;
  /** Null when neither called a tool. */
  toolsAgreement: boolean | null;
  /** Candidate length / control length; null when the control's text is empty. */
  lengthRatio: number | null;
}

export function agreementOf(control: CapturedAnswer | null, candidate: CapturedAnswer | null): Agreement {
  if (!control || !candidate) return { exactAgreement: null, toolsAgreement: null, lengthRatio: null };
  const exactAgreement =
    control.text === '' || candidate.text === '' ? null : normalised(control.text) === normalised(candidate.text);
  const toolsAgreement =
    control.tools.length === 0 && candidate.tools.length === 0 ? null : sameSet(control.tools, candidate.tools);
  const lengthRatio = control.text.length === 0 ? null : candidate.text.length / control.text.length;
  return { exactAgreement, toolsAgreement, lengthRatio };
}

function sameSet(a: string[], b: string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((name) => right.has(name));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value as Record<string, unknown>)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => ((part as { text?: unknown } | null)?.text as string) ?? '').join('');
}

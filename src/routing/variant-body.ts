import type { SystemPrompt } from '../flags/flag.types';
import type { RoutePlan } from './policy-book';

type Message = Record<string, unknown>;

/**
 * The body a route sends upstream, before the gateway's own transport fields: the caller's body,
 * the flag variant's params over it, the strategy's forced fields over both (quality first keeps
 * temperature 0 whatever a variant says), and the variant's system prompt.
 */
export function routedBody(body: Record<string, unknown>, plan: RoutePlan): Record<string, unknown> {
  const routed: Record<string, unknown> = { ...body, ...plan.variant?.params, ...plan.bodyOverrides };
  const prompt = plan.variant?.systemPrompt;
  if (prompt) routed.messages = withSystemPrompt(body.messages as Message[], prompt);
  return routed;
}

/**
 * `prepend`: the variant's system message first, the caller's messages after it unchanged.
 * `replace`: the caller's system and developer messages (its instructions) give way to the variant's.
 */
export function withSystemPrompt(messages: readonly Message[], prompt: SystemPrompt): Message[] {
  const system: Message = { role: 'system', content: prompt.text };
  if (prompt.mode === 'prepend') return [system, ...messages];
  return [system, ...messages.filter((message) => message.role !== 'system' && message.role !== 'developer')];
}

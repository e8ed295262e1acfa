import type { UpstreamBody } from '../providers/upstream';
import type { Route } from '../routing/routing.service';
import { routedBody } from '../routing/variant-body';
import type { ChatRequest } from './chat-request';

const MESSAGES_KEY = Buffer.from(',"messages":');
const CLOSE = Buffer.from('}');

export interface RoutedUpstreamBody extends UpstreamBody {
  /** The messages as the upstream gets them (a variant's system prompt included): what the context guard measures. */
  messages: ReadonlyArray<Record<string, unknown>>;
}

/**
 * The body the upstream gets: the client's with the variant's and the policy's changes (routedBody),
 * `model` set per candidate, without our own fields (`metadata`, unless the policy forwards it), and
 * streams always asking for the usage chunk (exact token counts come only from it). When the route
 * leaves a large body's messages as the client sent them, they pass on as the client's bytes,
 * spliced after the other fields, instead of being serialised again.
 */
export function upstreamBodyOf(request: ChatRequest, route: Route): RoutedUpstreamBody {
  const fields = routedBody(request.body, route.plan);
  if (!route.plan.forwardMetadata) delete fields.metadata;
  if (request.stream) fields.stream_options = { ...(fields.stream_options as object | null), include_usage: true };
  const messages = fields.messages as RoutedUpstreamBody['messages'];
  const asSent = messages === request.body.messages ? request.messagesAsSent : undefined;
  if (!asSent) return { messages, forModel: (model) => JSON.stringify({ ...fields, model }) };
  delete fields.messages;
  return {
    messages,
    forModel(model) {
      const head = JSON.stringify({ ...fields, model });
      return Buffer.concat([Buffer.from(head.slice(0, -1)), MESSAGES_KEY, asSent, CLOSE]);
    },
  };
}

import type { UpstreamBody } from '../providers/upstream';
import type { Route } from '../routing/routing.service';
import type { ChatRequest } from './chat-request';

const MESSAGES_KEY = Buffer.from(',"messages":');
const CLOSE = Buffer.from('}');

/**
 * The body the upstream gets: the client's, with the policy's overrides, `model` set per candidate,
 * without our own fields (`metadata`, unless the policy forwards it), and streams always asking for
 * the usage chunk (exact token counts come only from it). A large body's `messages` pass on as the
 * client's bytes, spliced after the other fields, unless the policy overrides them.
 */
export function upstreamBodyOf(request: ChatRequest, route: Route): UpstreamBody {
  const fields: Record<string, unknown> = { ...request.body, ...route.plan.bodyOverrides };
  if (!route.plan.forwardMetadata) delete fields.metadata;
  if (request.stream) fields.stream_options = { ...(fields.stream_options as object | null), include_usage: true };
  const messagesAsSent = 'messages' in route.plan.bodyOverrides ? undefined : request.messagesAsSent;
  if (!messagesAsSent) return { forModel: (model) => JSON.stringify({ ...fields, model }) };
  delete fields.messages;
  return {
    forModel(model) {
      const head = JSON.stringify({ ...fields, model });
      return Buffer.concat([Buffer.from(head.slice(0, -1)), MESSAGES_KEY, messagesAsSent, CLOSE]);
    },
  };
}

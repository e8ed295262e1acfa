import type { UpstreamBody } from '../providers/upstream';
import type { Route } from '../routing/routing.service';
import { routedBody } from '../routing/variant-body';
import type { ChatRequest } from './chat-request';

const MESSAGES_KEY = Buffer.from(',"messages":');
const CLOSE = Buffer.from('}');

/**
 * The body the upstream gets, as an object without `model`: the client's with the variant's and the
 * policy's changes (routedBody), without our own fields (`metadata`, unless the policy forwards it),
 * and streams always asking for the usage chunk (exact token counts come only from it). The budget
 * stage prices it and the context guard measures its messages; nothing changes it after.
 */
export function routedFieldsOf(request: ChatRequest, route: Route): Record<string, unknown> {
  const fields = routedBody(request.body, route.plan);
  if (!route.plan.forwardMetadata) delete fields.metadata;
  if (request.stream) fields.stream_options = { ...(fields.stream_options as object | null), include_usage: true };
  return fields;
}

/**
 * Those fields as JSON for each candidate model. When the route left a large body's messages as the
 * client sent them, they pass on as the client's bytes, spliced after the other fields, instead of
 * being serialised again (docs/benchmarks.md).
 */
export function upstreamBodyOf(fields: Record<string, unknown>, request: ChatRequest): UpstreamBody {
  const asSent = fields.messages === request.body.messages ? request.messagesAsSent : undefined;
  if (!asSent) return { forModel: (model) => JSON.stringify({ ...fields, model }) };
  const others = { ...fields };
  delete others.messages;
  return {
    forModel(model) {
      const head = JSON.stringify({ ...others, model });
      return Buffer.concat([Buffer.from(head.slice(0, -1)), MESSAGES_KEY, asSent, CLOSE]);
    },
  };
}

import type { UpstreamBody } from '../providers/upstream';
import type { Route } from '../routing/routing.service';
import { routedBody } from '../routing/variant-body';
import type { ChatRequest } from './chat-request';

const MESSAGES_KEY = ',"messages":';
const CLOSE = Buffer.from('}');
/**
 * Messages this large are sent as a view of the client's bytes, not copied into one new buffer: at
 * 400 KB the copy (and the garbage collections its memory brings on) cost more than writing three
 * pieces; at 32 KB the pieces cost more (docs/benchmarks.md).
 */
const SENT_IN_PIECES_FROM_BYTES = 64 * 1024;

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
 * client sent them, they pass on as the client's bytes, sent after the other fields, instead of
 * being serialised again or copied (docs/benchmarks.md).
 */
export function upstreamBodyOf(fields: Record<string, unknown>, request: ChatRequest): UpstreamBody {
  const asSent = fields.messages === request.body.messages ? request.messagesAsSent : undefined;
  if (!asSent) return { forModel: (model) => JSON.stringify({ ...fields, model }) };
  const others = { ...fields };
  delete others.messages;
  return {
    forModel(model) {
      const head = Buffer.from(`${JSON.stringify({ ...others, model }).slice(0, -1)}${MESSAGES_KEY}`);
      const pieces = [head, asSent, CLOSE];
      return asSent.length >= SENT_IN_PIECES_FROM_BYTES ? pieces : Buffer.concat(pieces);
    },
  };
}

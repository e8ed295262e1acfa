import { createHash } from 'node:crypto';
import type { EvaluationContext, EvaluationResult } from './flag-evaluator';

/*
 * The OpenFeature Remote Evaluation Protocol (OFREP, github.com/open-feature/protocol) on top of the
 * flag evaluator, so the standard OpenFeature providers read Switchyard flags: the evaluation
 * context's `targetingKey` is the user id, its other primitive fields the targeting attributes; the
 * flag's value is the variant's name, its model in `metadata`. Pure: the controller does the HTTP.
 */

export interface OfrepSuccess {
  key: string;
  value: string;
  variant: string;
  reason: string;
  metadata: Record<string, string | number | boolean>;
}

export interface OfrepFailure {
  key?: string;
  errorCode: 'FLAG_NOT_FOUND' | 'INVALID_CONTEXT' | 'PARSE_ERROR' | 'GENERAL';
  errorDetails: string;
}

/** The request body's context as the evaluator takes it; an OfrepFailure when it is not an object. */
export function contextOf(body: unknown): EvaluationContext | OfrepFailure {
  // A list is no body of OFREP's; read as one, its `context` is absent and it would evaluate as none.
  if (Array.isArray(body))
    return { errorCode: 'INVALID_CONTEXT', errorDetails: 'the request body must be an object { "context": { ... } }' };
  const context = (body as { context?: unknown } | null | undefined)?.context;
  if (context === undefined || context === null) return {};
  if (typeof context !== 'object' || Array.isArray(context))
    return {
      errorCode: 'INVALID_CONTEXT',
      errorDetails: 'context must be an object (the OpenFeature evaluation context)',
    };
  const attributes: Record<string, string> = {};
  let userId: string | undefined;
  for (const [name, value] of Object.entries(context)) {
    if (name === 'targetingKey') {
      if (typeof value !== 'string')
        return { errorCode: 'INVALID_CONTEXT', errorDetails: 'context.targetingKey must be a string (the user id)' };
      userId = value === '' ? undefined : value;
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      attributes[name] = String(value);
    }
  }
  return { userId, attributes };
}

/** OpenFeature's reason for the evaluator's (`rule:<name>`, `rollout`, `default`, `disabled`). */
export function reasonOf(reason: string): string {
  const base = reason.replace(/ \(unsticky\)$/, '');
  if (base === 'disabled') return 'DISABLED';
  if (base.startsWith('rule:')) return 'TARGETING_MATCH';
  if (base === 'rollout') return 'SPLIT';
  return 'DEFAULT';
}

export function successOf(key: string, version: number, result: EvaluationResult): OfrepSuccess {
  return {
    key,
    value: result.variant,
    variant: result.variant,
    reason: reasonOf(result.reason),
    metadata: { model: result.model, flagVersion: version, bucket: result.bucket, detail: result.reason },
  };
}

/** A strong ETag of a bulk answer: the same flags and values give the same tag. */
export function etagOf(body: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
}

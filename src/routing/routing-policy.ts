import type { CatalogModel, CatalogPolicy } from '../config/catalog.schema';

/** Everything a policy needs to plan one request, gathered by RoutingService. */
export interface PolicyInput {
  policy: CatalogPolicy;
  /** The model the flag (or, without a flag, the policy's default) chose for this user. */
  chosen: CatalogModel;
  /** The policy's fallback chain from the catalog, resolved to models, in catalog order. */
  fallbacks: CatalogModel[];
  body: Record<string, unknown>;
}

/** How one request is to be served: which models in which order, with which budgets. */
export interface RoutePlan {
  /** The chosen model first, then the fallbacks to try in order. */
  candidates: CatalogModel[];
  /** Budget of the whole request, retries and fallbacks included. */
  totalTimeoutMs: number;
  /** Budget of one upstream attempt. */
  attemptTimeoutMs: number;
  /** Streams: time allowed to the first event before the attempt counts as failed. */
  firstChunkTimeoutMs?: number;
  /** Caps the gateway's retry count per model (fast fallback for latency-first policies). */
  maxRetriesPerModel?: number;
  /** Fields forced onto the upstream body (fraud: temperature 0). */
  bodyOverrides: Record<string, unknown>;
  /** Whether the caller's `metadata` goes upstream (it is for targeting, not for the provider). */
  forwardMetadata: boolean;
}

/**
 * One use case's routing rules. Adding a policy is adding a class that implements this and a catalog
 * entry with the same name; RoutingService finds it through the ROUTING_POLICIES token.
 */
export interface RoutingPolicy {
  readonly name: string;
  plan(input: PolicyInput): RoutePlan;
}

export const ROUTING_POLICIES = Symbol('ROUTING_POLICIES');

/** Cheapest first, by the price of a typical request (input and output per 1M tokens). */
export function byCost(a: CatalogModel, b: CatalogModel): number {
  return a.pricing.inputPer1M + a.pricing.outputPer1M - (b.pricing.inputPer1M + b.pricing.outputPer1M);
}

import { Injectable } from '@nestjs/common';
import { CatalogService } from '../catalog/catalog.service';
import { FlagCache } from './flag-cache';
import { FlagInvalid, FlagNotFound, FlagUnused } from './flag.errors';
import { evaluate, type EvaluationContext, type EvaluationResult } from './flag-evaluator';
import { toDefinition } from './flag-mapper';
import { type FlagView, usageOf, viewOf } from './flag-usage';
import { modelOfVariant, type VariantSettings } from './flag.types';
import { type FlagListFilter, FlagsRepository } from './flags.repository';

export interface FlagPage {
  items: FlagView[];
  nextAfter: string | null;
}

export type FlagEvaluation = EvaluationResult & { flag: string; version: number };

/**
 * Reading flags: operators' views from the table, and evaluation from the in-memory cache (routing,
 * OFREP, the admin evaluate endpoint). Writes and history are FlagChangeService's.
 */
@Injectable()
export class FlagsService {
  constructor(
    private readonly flags: FlagsRepository,
    private readonly cache: FlagCache,
    private readonly catalog: CatalogService,
  ) {}

  /** False until the flags have been read from the database once: routing then has nothing to go by. */
  get flagsLoaded(): boolean {
    return this.cache.loaded;
  }

  /** Every active flag, unpaged: for the policy map and the guardrail, which need them all. */
  async listActive(): Promise<FlagView[]> {
    const policies = this.catalog.listPolicies();
    return (await this.flags.findAll()).map((entity) => viewOf(toDefinition(entity), policies));
  }

  async list(filter: FlagListFilter, limit: number, after?: string): Promise<FlagPage> {
    const policies = this.catalog.listPolicies();
    // One extra row tells whether there is a next page without a count query.
    const rows = await this.flags.findPage(filter, limit + 1, after);
    const page = rows.slice(0, limit);
    return {
      items: page.map((entity) => viewOf(toDefinition(entity), policies)),
      nextAfter: rows.length > limit ? page[page.length - 1].key : null,
    };
  }

  async get(key: string): Promise<FlagView> {
    const entity = await this.flags.findByKey(key);
    if (!entity) throw new FlagNotFound(key);
    return viewOf(toDefinition(entity), this.catalog.listPolicies());
  }

  /** A canary on a flag no policy routes by would judge no traffic: FlagUnused (409) names the policies. */
  assertUsedByPolicy(key: string): void {
    const policies = this.catalog.listPolicies();
    if (usageOf(key, policies).unused) throw new FlagUnused(key, policies);
  }

  /**
   * The hot path (routing): from the in-memory cache only, never a database round-trip. undefined
   * when the flag is unknown or archived, so the caller falls back to its policy default.
   */
  evaluateCached(key: string, context: EvaluationContext): FlagEvaluation | undefined {
    const flag = this.cache.get(key);
    if (!flag) return undefined;
    return { flag: flag.key, version: flag.version, ...evaluate(flag, context) };
  }

  /** The keys of every flag served now (not archived), from memory: what OFREP's bulk evaluation evaluates. */
  servedKeys(): string[] {
    return this.cache
      .all()
      .map((flag) => flag.key)
      .sort();
  }

  /** One variant of a flag as routing applies it (its model and settings), from memory; undefined when unknown. */
  variantCached(key: string, variant: string): { model: string; settings?: VariantSettings } | undefined {
    const variants = this.cache.get(key)?.variants;
    if (!variants || !Object.hasOwn(variants, variant)) return undefined;
    const value = variants[variant];
    return { model: modelOfVariant(value), settings: typeof value === 'string' ? undefined : value };
  }

  /**
   * The admin endpoint: like evaluateCached, with input checks and a 404 for unknown or archived
   * flags; the variant's params and system prompt, if it has them, as they would be applied.
   */
  evaluate(key: string, context: EvaluationContext): Omit<FlagEvaluation, 'settings'> & VariantSettings {
    const problems = Object.entries(context.attributes ?? {})
      .filter(([, value]) => typeof value !== 'string')
      .map(([name]) => `attributes.${name} must be a string`);
    if (problems.length > 0) throw new FlagInvalid(problems);
    const result = this.evaluateCached(key, context);
    if (!result) throw FlagNotFound.notServed(key);
    const { settings, ...evaluation } = result;
    return { ...evaluation, params: settings?.params, systemPrompt: settings?.systemPrompt };
  }
}

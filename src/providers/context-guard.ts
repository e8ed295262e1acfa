import { Inject, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import { gatewayConfig, type GatewayConfig } from '../config/gateway.config';
import type { CatalogModel } from '../config/catalog.schema';
import { PromptSize } from './prompt-size';
import { ContextLengthExceeded } from './provider-errors';
import { TokenCounter, TokenizerUnavailable, type TokenCounterStats } from './token-counter';

/**
 * Refuses a prompt that would not fit a model before any provider call: the upstream would refuse
 * it anyway, after a round trip that costs time and, on some providers, money.
 *
 * Bytes settle most prompts (PromptSize); the rest are counted with the o200k tokenizer in a worker
 * thread (TokenCounter), started on the first prompt that needs it. Its vocabulary (~15 MB of Maps,
 * ~150 ms to load) would otherwise sit in the main thread's heap, marked by every major GC of a
 * gateway that may never need it, and the counting would run on the event loop. When the tokenizer
 * cannot be had (it failed to load, or died), the prompt goes through: the upstream refuses one that
 * is really too long, as it would without the guard.
 */
@Injectable()
export class ContextGuard implements OnModuleDestroy {
  private readonly counter: TokenCounter;

  /** `counter`: the app's is made here; a test may pass one that loads another tokenizer module. */
  constructor(
    @Inject(gatewayConfig.KEY) private readonly config: Pick<GatewayConfig, 'contextGuardRatio'>,
    @Optional() counter?: TokenCounter,
  ) {
    this.counter = counter ?? new TokenCounter(new Logger(ContextGuard.name));
  }

  /**
   * Whether the tokenizer's worker runs, how many were started and how many failed. A gateway that
   * never saw a prompt bytes could not settle shows no start (Prometheus: switchyard_tokenizer_*).
   */
  get tokenizer(): TokenCounterStats {
    return this.counter.stats;
  }

  async onModuleDestroy(): Promise<void> {
    await this.counter.close();
  }

  /** The prompt of a request, measured lazily: keep one per request, for every candidate model. */
  measure(messages: ReadonlyArray<{ content?: unknown; name?: unknown }>): PromptSize {
    return new PromptSize(messages);
  }

  /** The refusal when the prompt does not fit `model`'s window (times GATEWAY_CONTEXT_GUARD_RATIO). */
  async refusal(prompt: PromptSize, model: CatalogModel): Promise<ContextLengthExceeded | undefined> {
    const ratio = this.config.contextGuardRatio;
    const limit = Math.floor(model.contextWindow * ratio);
    let excess;
    try {
      excess = await prompt.excess(limit, this.counter.count);
    } catch (error) {
      // Logged and counted by the counter, once per failure, not once per prompt.
      if (error instanceof TokenizerUnavailable) return undefined;
      throw error;
    }
    if (!excess) return undefined;
    return new ContextLengthExceeded(
      `This request's prompt is ${excess.atLeast ? 'at least' : 'about'} ${excess.tokens} tokens; model ${model.id} ` +
        `accepts up to ${limit} (${Math.round(ratio * 100)}% of its ${model.contextWindow}-token context window). ` +
        'Shorten the messages or choose a model with a larger window.',
    );
  }
}

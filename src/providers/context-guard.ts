import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { gatewayConfig, type GatewayConfig } from '../config/gateway.config';
import type { CatalogModel } from '../config/catalog.schema';
import { PromptSize, type CountTokens } from './prompt-size';
import { ContextLengthExceeded } from './provider-errors';

/** Letters, digits, punctuation, CJK, emoji and runs of one character: every path of the tokenizer. */
const WARM_UP_TEXT = `The train left at 6:40, 12 km/h! 漢字かな ${'😀'.repeat(64)} ${'a'.repeat(256)} ${' '.repeat(64)}`;

/**
 * Refuses a prompt that would not fit a model before any provider call: the upstream would refuse
 * it anyway, after a round trip that costs time and, on some providers, money.
 *
 * The o200k tokenizer holds its vocabulary in memory (about 70 MB) and takes ~170 ms to load, all
 * of it on the event loop: it is loaded at start-up, so no request ever waits for it while others
 * freeze behind it.
 */
@Injectable()
export class ContextGuard implements OnModuleInit {
  private countTokens?: CountTokens;

  constructor(@Inject(gatewayConfig.KEY) private readonly config: Pick<GatewayConfig, 'contextGuardRatio'>) {}

  async onModuleInit(): Promise<void> {
    await this.tokenizer();
  }

  /** The prompt of a request, measured lazily: keep one per request, for every candidate model. */
  measure(messages: ReadonlyArray<{ content?: unknown; name?: unknown }>): PromptSize {
    return new PromptSize(messages);
  }

  /** The refusal when the prompt does not fit `model`'s window (times GATEWAY_CONTEXT_GUARD_RATIO). */
  async refusal(prompt: PromptSize, model: CatalogModel): Promise<ContextLengthExceeded | undefined> {
    const ratio = this.config.contextGuardRatio;
    const limit = Math.floor(model.contextWindow * ratio);
    const excess = await prompt.excess(limit, this.countTokens ?? (await this.tokenizer()));
    if (!excess) return undefined;
    return new ContextLengthExceeded(
      `This request's prompt is ${excess.atLeast ? 'at least' : 'about'} ${excess.tokens} tokens; model ${model.id} ` +
        `accepts up to ${limit} (${Math.round(ratio * 100)}% of its ${model.contextWindow}-token context window). ` +
        'Shorten the messages or choose a model with a larger window.',
    );
  }

  private async tokenizer(): Promise<CountTokens> {
    if (!this.countTokens) {
      const { countTokens } = await import('gpt-tokenizer');
      // Its first calls build lookup structures and compile its code (~25 ms): at start-up, not on a request.
      countTokens(WARM_UP_TEXT);
      this.countTokens = countTokens;
    }
    return this.countTokens;
  }
}

import { OpenAiError } from '../common/openai-error';
import type { CatalogModel } from '../config/catalog.schema';

/** OpenAI's chat format adds a few tokens per message (role, separators) and primes the reply. */
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PRIMING_REPLY = 3;

type ChatMessage = { content?: unknown; name?: unknown };

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (typeof part === 'object' && part !== null && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

type CountTokens = (text: string) => number;
let loadedCounter: Promise<CountTokens> | undefined;

/**
 * The o200k tokenizer holds its whole vocabulary in memory (about 70 MB), so it is loaded the first
 * time a prompt is big enough to need it, not at start-up.
 */
function tokenCounter(): Promise<CountTokens> {
  loadedCounter ??= import('gpt-tokenizer').then((tokenizer) => tokenizer.countTokens);
  return loadedCounter;
}

/** Prompt tokens as OpenAI counts them for chat messages (o200k tokenizer). */
export async function estimatePromptTokens(messages: readonly ChatMessage[]): Promise<number> {
  const countTokens = await tokenCounter();
  let tokens = TOKENS_PRIMING_REPLY;
  for (const message of messages) {
    tokens += TOKENS_PER_MESSAGE + countTokens(textOf(message.content));
    if (typeof message.name === 'string') tokens += countTokens(message.name) + 1;
  }
  return tokens;
}

/**
 * Rejects a prompt that would not fit the model before any provider call: the upstream would
 * refuse it anyway, after a round trip that costs time and, on some providers, money.
 */
export async function assertFitsContext(
  model: CatalogModel,
  messages: readonly ChatMessage[],
  guardRatio: number,
): Promise<void> {
  const limit = Math.floor(model.contextWindow * guardRatio);
  // A token is at least one byte, so a prompt with fewer bytes than the limit fits without tokenising.
  let bytes = 0;
  for (const message of messages) bytes += Buffer.byteLength(textOf(message.content)) + TOKENS_PER_MESSAGE * 4;
  if (bytes <= limit) return;
  const estimate = await estimatePromptTokens(messages);
  if (estimate <= limit) return;
  throw OpenAiError.invalidRequest(
    `This request's prompt is about ${estimate} tokens; model ${model.id} accepts up to ${limit} ` +
      `(${Math.round(guardRatio * 100)}% of its ${model.contextWindow}-token context window). Shorten the messages or choose a model with a larger window.`,
    'messages',
    'context_length_exceeded',
  );
}

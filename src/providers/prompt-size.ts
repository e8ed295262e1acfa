import { JsonText } from '../common/json-text';

/** OpenAI's chat format adds a few tokens per message (role, separators), one per name, and primes the reply. */
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const TOKENS_PRIMING_REPLY = 3;
/** o200k's longest token is 128 bytes (a run of spaces), so a text has at least bytes / 128 tokens. */
const MAX_TOKEN_BYTES = 128;
/**
 * BPE is super-linear in the length of one pre-token: 16 000 bytes of one letter cost 80 ms, 64 000
 * bytes of emoji 1.3 s. Chunks of this many characters keep every tokenizer call well under a
 * millisecond or two whatever the text, and the whole count linear in its length.
 */
const CHUNK_CHARS = 256;
/**
 * The chunks counted per round trip to the tokenizer's thread: up to this many bytes (a millisecond
 * or a few of tokenizing; a round trip per chunk would cost more than the counting) and this many
 * chunks (a prompt of many tiny messages). Slicing one batch is the main thread's longest step, well
 * under a millisecond; counting ahead of what a decision needs costs at most one batch.
 */
const BATCH_BYTES = 64 * 1024;
const BATCH_CHUNKS = 1024;
/** A prompt already over a limit is still counted to the end (for an exact figure) if this little remains. */
const EXACT_BELOW_BYTES = 64 * 1024;
/**
 * A prompt this large that bytes alone do not settle is first estimated from a sample: SAMPLE_CHUNKS
 * chunks spread evenly over its text (16 × 256 characters, ~60 µs of tokenizer against ~13 ms for
 * 400 KB counted whole). An estimate at most 1 / SAMPLE_MARGIN of the limit lets the prompt through
 * uncounted; anything nearer the window is counted exactly, as before, and only an exact count (or
 * the byte bound) refuses. The price of a wrong estimate is the upstream's own refusal, the same as
 * having no guard: the sample never refuses a prompt that fits.
 */
const SAMPLE_FROM_BYTES = 64 * 1024;
const SAMPLE_CHUNKS = 16;
const SAMPLE_MARGIN = 1.25;

/** The tokens of each chunk, in order: one batch, one round trip to the tokenizer (token-counter.ts). */
export type CountTokens = (chunks: readonly string[]) => Promise<ArrayLike<number>>;

type ChatMessage = { content?: unknown; name?: unknown };

export interface PromptExcess {
  tokens: number;
  /** True when `tokens` is a lower bound (the text was not counted far enough for an estimate). */
  atLeast: boolean;
}

/** A chunk the tokenizer counted that no decision has taken into account yet, and where it ends. */
interface CountedChunk {
  tokens: number;
  bytes: number;
  textIndex: number;
  end: number;
}

/**
 * A prompt's size in tokens, known only as precisely as the decisions asked of it need. Bytes bound
 * the count both ways (every token is 1 to 128 bytes), which settles most prompts without the
 * tokenizer; a large prompt far under the limit is let through on a sampled estimate; otherwise the
 * text is counted in bounded chunks, a batch of them per round trip to the tokenizer, and taken into
 * account chunk by chunk only until the answer is certain. Counting resumes where it stopped (chunks
 * counted ahead included) when the next candidate model has a larger window. A count that fails
 * (TokenizerUnavailable) changes nothing: it can be asked for again.
 */
export class PromptSize {
  /** The prompt's texts; a JsonText is decoded only if it is counted exactly. */
  private readonly texts: Array<string | JsonText> = [];
  /** Each text's UTF-8 length. */
  private readonly textBytes: number[] = [];
  private readonly overhead: number;
  private uncountedBytes = 0;
  private countedBytes = 0;
  private countedTokens = 0;
  private textIndex = 0;
  private offset = 0;
  /** Counted ahead of the decisions, in order from (textIndex, offset) on. */
  private ahead: CountedChunk[] = [];
  private aheadTaken = 0;
  /** The sample taken so far (SAMPLE_CHUNKS chunks once complete). */
  private readonly sample = { chunks: 0, tokens: 0, bytes: 0 };

  constructor(messages: readonly ChatMessage[]) {
    let overhead = TOKENS_PRIMING_REPLY;
    for (const message of messages) {
      overhead += TOKENS_PER_MESSAGE;
      this.addContent(message.content);
      if (typeof message.name === 'string') {
        overhead += TOKENS_PER_NAME;
        this.add(message.name);
      }
    }
    this.overhead = overhead;
  }

  /**
   * At least as many tokens as the prompt has, at no tokenizer cost: what was counted, plus one token
   * per byte not counted yet (a token is at least one byte). A spend budget reserves this much.
   */
  get upperBound(): number {
    return this.overhead + this.countedTokens + this.uncountedBytes;
  }

  /** Undefined when the prompt fits in `limit` tokens; otherwise how big it is. */
  async excess(limit: number, countTokens: CountTokens): Promise<PromptExcess | undefined> {
    for (;;) {
      const known = this.overhead + this.countedTokens;
      if (known + this.uncountedBytes <= limit) return undefined;
      if (this.textIndex === this.texts.length) return known > limit ? { tokens: known, atLeast: false } : undefined;
      const surelyOver = known > limit || known + Math.ceil(this.uncountedBytes / MAX_TOKEN_BYTES) > limit;
      if (surelyOver && this.uncountedBytes > EXACT_BELOW_BYTES) return this.estimate();
      if (!surelyOver && this.samplingApplies()) {
        if (this.sample.chunks < SAMPLE_CHUNKS) {
          await this.takeSample(countTokens);
          continue;
        }
        if (this.sampledTokens() * SAMPLE_MARGIN <= limit) return undefined;
      }
      if (this.aheadTaken === this.ahead.length) await this.countAhead(countTokens);
      this.takeNextChunk();
    }
  }

  /** A large prompt nothing has been counted of yet is estimated from a sample first. */
  private samplingApplies(): boolean {
    return this.sample.chunks > 0 || (this.countedBytes === 0 && this.uncountedBytes >= SAMPLE_FROM_BYTES);
  }

  /** Tokenizes SAMPLE_CHUNKS chunks spread evenly over the text's bytes, in one batch. */
  private async takeSample(countTokens: CountTokens): Promise<void> {
    const totalBytes = this.textBytes.reduce((sum, bytes) => sum + bytes, 0);
    const chunks: string[] = [];
    for (let i = 0; i < SAMPLE_CHUNKS; i++) {
      let at = Math.floor(((i + 0.5) * totalBytes) / SAMPLE_CHUNKS);
      let index = 0;
      while (at >= this.textBytes[index]) at -= this.textBytes[index++];
      chunks.push(sampleChunk(this.texts[index], at / this.textBytes[index]));
    }
    const counts = await countTokens(chunks);
    for (let i = 0; i < chunks.length; i++) {
      this.sample.tokens += counts[i];
      this.sample.bytes += Buffer.byteLength(chunks[i]);
    }
    this.sample.chunks = SAMPLE_CHUNKS;
  }

  /** The whole prompt's tokens at the sample's density (the overhead counted exactly). */
  private sampledTokens(): number {
    const { tokens, bytes } = this.sample;
    return bytes === 0 ? Infinity : this.overhead + (tokens / bytes) * (this.countedBytes + this.uncountedBytes);
  }

  /** A message's content: a text, or the `text` of each of its parts. */
  private addContent(content: unknown): void {
    if (!Array.isArray(content)) return this.add(content);
    for (const part of content) if (typeof part === 'object' && part !== null) this.add(part.text);
  }

  private add(text: unknown): void {
    const bytes = typeof text === 'string' ? Buffer.byteLength(text) : text instanceof JsonText ? text.byteLength : 0;
    if (bytes === 0) return;
    this.texts.push(text as string | JsonText);
    this.textBytes.push(bytes);
    this.uncountedBytes += bytes;
  }

  /** The text at `index`, decoded. */
  private textAt(index: number): string {
    const text = this.texts[index];
    return typeof text === 'string' ? text : text.text;
  }

  /** Counts the chunks from (textIndex, offset) on, a batch of them, without taking them into account yet. */
  private async countAhead(countTokens: CountTokens): Promise<void> {
    const chunks: string[] = [];
    const ahead: CountedChunk[] = [];
    let batchBytes = 0;
    let textIndex = this.textIndex;
    let offset = this.offset;
    while (textIndex < this.texts.length && batchBytes < BATCH_BYTES && chunks.length < BATCH_CHUNKS) {
      const text = this.textAt(textIndex);
      const end = chunkEnd(text, offset);
      const chunk = text.slice(offset, end);
      const bytes = Buffer.byteLength(chunk);
      chunks.push(chunk);
      ahead.push({ tokens: 0, bytes, textIndex, end });
      batchBytes += bytes;
      if (end < text.length) {
        offset = end;
      } else {
        textIndex++;
        offset = 0;
      }
    }
    const counts = await countTokens(chunks);
    for (let i = 0; i < ahead.length; i++) ahead[i].tokens = counts[i];
    this.ahead = ahead;
    this.aheadTaken = 0;
  }

  /** Takes the next chunk counted ahead into account. */
  private takeNextChunk(): void {
    const { tokens, bytes, textIndex, end } = this.ahead[this.aheadTaken++];
    this.countedTokens += tokens;
    this.countedBytes += bytes;
    this.uncountedBytes -= bytes;
    if (end < this.textAt(textIndex).length) {
      this.offset = end;
    } else {
      this.textIndex = textIndex + 1;
      this.offset = 0;
    }
  }

  /** Over the limit before the end: the counted part's density applied to the rest, or the byte bound. */
  private estimate(): PromptExcess {
    const lowerBound = this.overhead + this.countedTokens + Math.ceil(this.uncountedBytes / MAX_TOKEN_BYTES);
    if (this.countedBytes === 0) return { tokens: lowerBound, atLeast: true };
    const density = this.countedTokens / this.countedBytes;
    const tokens = this.overhead + Math.round(density * (this.countedBytes + this.uncountedBytes));
    return { tokens: Math.max(tokens, lowerBound), atLeast: false };
  }
}

/**
 * A chunk of `text` from about `fraction` of the way through it. A JsonText gives whole words from
 * its bytes without being decoded, unless it has no spaces there.
 */
function sampleChunk(text: string | JsonText, fraction: number): string {
  if (text instanceof JsonText) {
    const words = text.wordsNear(fraction, CHUNK_CHARS);
    if (words !== undefined) return words;
    text = text.text;
  }
  let at = Math.floor(fraction * text.length);
  const code = text.charCodeAt(at);
  if (code >= 0xdc00 && code <= 0xdfff) at++; // never start inside a surrogate pair
  return text.slice(at, chunkEnd(text, at));
}

/**
 * Where the chunk starting at `start` ends: before a space or line break that follows a word, when
 * there is one in the chunk's second half (the tokenizer splits there itself, so counting the chunks
 * separately gives the same total), and never between the two halves of a surrogate pair.
 */
function chunkEnd(text: string, start: number): number {
  const end = start + CHUNK_CHARS;
  if (end >= text.length) return text.length;
  for (let at = end; at > start + CHUNK_CHARS / 2; at--) {
    if (isBreak(text.charCodeAt(at)) && !isBreak(text.charCodeAt(at - 1))) return at;
  }
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
}

function isBreak(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

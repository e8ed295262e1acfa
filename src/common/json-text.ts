const SPACE = 0x20;

/** A message's text as the gateway may hold it: a string, or a JsonText still in the client's bytes. */
export function isText(value: unknown): value is string | JsonText {
  return typeof value === 'string' || value instanceof JsonText;
}

/**
 * A JSON string from a request body left as the client's bytes: already checked to be a valid JSON
 * string, decoded only if its text is needed. A large prompt's messages pass to the upstream as the
 * bytes they came as, and the context guard settles most prompts on their size alone, so most texts
 * are never decoded: decoding and parsing a 400 KB body cost the gateway more CPU than a bare proxy
 * spends on the whole request, half of it in garbage collection of the strings (docs/benchmarks.md).
 * JSON.stringify writes the text (toJSON), so a body that is serialised again stays correct.
 */
export class JsonText {
  private decoded: string | undefined;

  /**
   * @param bytes where the string lies (the whole body: no view of it is made per string)
   * @param start its opening quote; `end`: just after its closing quote (valid JSON, valid UTF-8)
   * @param byteLength the UTF-8 length of its text, escapes resolved (Buffer.byteLength of `text`)
   */
  constructor(
    private readonly bytes: Buffer,
    private readonly start: number,
    private readonly end: number,
    readonly byteLength: number,
  ) {}

  get text(): string {
    return (this.decoded ??= JSON.parse(this.bytes.toString('utf8', this.start, this.end)) as string);
  }

  toJSON(): string {
    return this.text;
  }

  toString(): string {
    return this.text;
  }

  /**
   * A run of whole words, at most `maxBytes` long, starting at the first space from `fraction` of
   * the way through the text on: a sample of it decoded without decoding the rest. A space byte is
   * never part of an escape or of a multi-byte character, so the bytes between two spaces decode on
   * their own. Undefined when no such run is near (text without spaces): take a slice of `text`.
   */
  wordsNear(fraction: number, maxBytes: number): string | undefined {
    const last = this.end - 1; // the closing quote
    const from = this.start + 1 + Math.floor(fraction * (last - this.start - 1));
    const start = this.bytes.indexOf(SPACE, from);
    if (start === -1 || start - from > maxBytes || start >= last) return undefined;
    let stop = Math.min(last, start + maxBytes);
    if (stop < last) {
      stop = this.bytes.lastIndexOf(SPACE, stop);
      if (stop <= start + maxBytes / 2) return undefined;
    }
    return JSON.parse(`"${this.bytes.toString('utf8', start, stop)}"`) as string;
  }
}

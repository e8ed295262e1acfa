/**
 * What the process writes to stdout, kept while still written through. Start it before the app
 * whose logs it should see: pino writes to `process.stdout` only if its `write` is already replaced
 * when the logger is built, and otherwise straight to file descriptor 1, past any capture (as in a
 * jest worker process, where stdout is a pipe nobody has wrapped).
 */
export class StdoutCapture {
  private readonly chunks: string[] = [];
  private readonly original = process.stdout.write;

  private constructor() {
    const original = this.original.bind(process.stdout) as (...args: unknown[]) => boolean;
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      this.chunks.push(String(chunk));
      return original(chunk, ...rest);
    }) as typeof process.stdout.write;
  }

  static start(): StdoutCapture {
    return new StdoutCapture();
  }

  text(): string {
    return this.chunks.join('');
  }

  /** The JSON log lines written so far, parsed. */
  jsonLines(): Array<Record<string, unknown>> {
    return this.text()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  stop(): void {
    process.stdout.write = this.original;
  }
}

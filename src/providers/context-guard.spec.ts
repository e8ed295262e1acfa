import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { countTokens } from 'gpt-tokenizer';
import ts from 'typescript';
import type { CatalogModel } from '../config/catalog.schema';
import { JsonText } from '../common/json-text';
import { ContextGuard } from './context-guard';
import { PromptSize } from './prompt-size';
import { o200kTokenizerPath, TokenCounter, type WarningLog } from './token-counter';

const model = (contextWindow: number) => ({ id: `window-${contextWindow}`, contextWindow }) as CatalogModel;
const guard = new ContextGuard({ contextGuardRatio: 0.9 });

/** The real tokenizer, remembering every batch it was given (the length of each chunk in it). */
function recordingTokenizer(): { count: (chunks: readonly string[]) => Promise<number[]>; batches: number[][] } {
  const batches: number[][] = [];
  return {
    batches,
    count: async (chunks) => {
      batches.push(chunks.map((chunk) => chunk.length));
      return chunks.map((chunk) => countTokens(chunk));
    },
  };
}

const chunksOf = (tokenizer: ReturnType<typeof recordingTokenizer>) => tokenizer.batches.flat();
const charsOf = (tokenizer: ReturnType<typeof recordingTokenizer>) =>
  chunksOf(tokenizer).reduce((sum, length) => sum + length, 0);

describe('context guard', () => {
  afterAll(() => guard.onModuleDestroy());

  it('counts tokens with the tokenizer, not characters/4', async () => {
    // 'hello' is one token; each message adds 3, a name 1 more, the reply priming 3: 7 and 13.
    const tiny = model(1);
    expect(await guard.refusal(guard.measure([{ content: 'hello' }]), tiny)).toMatchObject({
      message: expect.stringContaining('is about 7 tokens'),
    });
    const twoMessages = [{ content: [{ type: 'text', text: 'hello' }] }, { content: 'hello', name: 'bob' }];
    expect((await guard.refusal(guard.measure(twoMessages), tiny))?.message).toContain('is about 13 tokens');
  });

  it('lets a prompt under the guard ratio of the window through', async () => {
    expect(await guard.refusal(guard.measure([{ content: 'word '.repeat(800) }]), model(1000))).toBeUndefined();
  });

  it('rejects a prompt over it with context_length_exceeded naming model, limit and estimate', async () => {
    const refusal = await guard.refusal(guard.measure([{ content: 'word '.repeat(1200) }]), model(1000));
    expect(refusal).toMatchObject({ code: 'context_length_exceeded', param: 'messages', kind: 'invalid' });
    expect(refusal?.message).toMatch(
      /prompt is about 120\d tokens; model window-1000 accepts up to 900 \(90% of its 1000-token context window\)/,
    );
  });

  it('counts exactly what gpt-tokenizer counts, through the worker, for a prompt counted to its end', async () => {
    // Under 64 KB each, so counted to the end even when far over the limit.
    const texts = [
      'The train rolled on through the night, past towns whose names nobody on board could read. '.repeat(600),
      '漢字かな交じり文、😀🎉👍🏽 and some English. '.repeat(1000),
    ];
    for (const text of texts) {
      const exact = countTokens(text) + 6;
      expect((await guard.refusal(guard.measure([{ content: text }]), model(1)))?.message).toContain(
        `is about ${exact} tokens`,
      );
    }
  });

  it("counts a special token's text in a message as the ordinary text it is, without failing", async () => {
    const text = 'Ignore this: <|endoftext|><|im_start|>system '.repeat(100);
    const exact = countTokens(text, { disallowedSpecial: new Set() }) + 6;
    expect((await guard.refusal(guard.measure([{ content: text }]), model(1)))?.message).toContain(
      `is about ${exact} tokens`,
    );
  });

  it('counts long text in chunks that add up to the whole count, emoji never split', async () => {
    const texts = [
      'The train rolled on through the night, past towns whose names nobody on board could read. '.repeat(400),
      'line one\nline two\r\n\ttabbed '.repeat(500),
      '😀🎉👍🏽 '.repeat(2000),
    ];
    for (const text of texts) {
      const tokenizer = recordingTokenizer();
      const exact = countTokens(text) + 6;
      const refusal = await new PromptSize([{ content: text }]).excess(1, tokenizer.count);
      expect(refusal).toEqual({ tokens: exact, atLeast: false });
      expect(Math.max(...chunksOf(tokenizer))).toBeLessThanOrEqual(256);
    }
  });

  it('sends the chunks in batches of at most 64 KB (and one chunk), not a round trip per chunk', async () => {
    const text = 'The train rolled on through the night, past towns whose names nobody on board could read. '.repeat(
      5000,
    );
    const exact = countTokens(text) + 6;
    const tokenizer = recordingTokenizer();
    // Just over the limit: sampled (one batch of 16 chunks), then counted to the end.
    expect(await new PromptSize([{ content: text }]).excess(exact - 1, tokenizer.count)).toEqual({
      tokens: exact,
      atLeast: false,
    });
    const [sample, ...counted] = tokenizer.batches;
    expect(sample).toHaveLength(16);
    // 450 KB of text: 7 batches of ~260 chunks.
    expect(counted).toHaveLength(Math.ceil(text.length / (64 * 1024)));
    for (const batch of counted) expect(batch.reduce((sum, length) => sum + length, 0)).toBeLessThan(64 * 1024 + 256);
  });

  it('decides by bytes alone when they settle it: under the limit, or over it at 128 bytes a token', async () => {
    const small = recordingTokenizer();
    expect(await new PromptSize([{ content: 'x'.repeat(800) }]).excess(900, small.count)).toBeUndefined();
    const huge = recordingTokenizer();
    const excess = await new PromptSize([{ content: 'a'.repeat(4 * 1024 * 1024) }]).excess(16_000, huge.count);
    expect(excess).toEqual({ tokens: 32_768 + 6, atLeast: true });
    expect([...small.batches, ...huge.batches]).toEqual([]);
  });

  it('tokenizes only bounded chunks of a megabyte of one letter, and stops once the answer is certain', async () => {
    const text = 'a'.repeat(1024 * 1024);
    const tooLong = recordingTokenizer();
    const excess = await new PromptSize([{ content: text }]).excess(115_200, tooLong.count);
    expect(excess?.atLeast).toBe(false);
    expect(excess?.tokens).toBeGreaterThan(115_200);
    expect(Math.max(...chunksOf(tooLong))).toBeLessThanOrEqual(256);
    expect(charsOf(tooLong)).toBeLessThan(text.length);

    const fits = recordingTokenizer();
    expect(await new PromptSize([{ content: text }]).excess(942_818, fits.count)).toBeUndefined();
    // Once the counted part plus a byte per remaining token fits, the rest is not tokenized.
    expect(charsOf(fits)).toBeLessThan(text.length / 4);
  });

  it('lets a large prompt far under the window through on a sample, tokenizing a few kilobytes of it', async () => {
    const sentence = 'The shipment left the warehouse on Tuesday and the customer asked for a refund. ';
    const history = Array.from({ length: 200 }, (_, i) => ({ content: `${i}: ${sentence.repeat(25)}` }));
    const tokenizer = recordingTokenizer();
    // About 410 KB, about 80 000 tokens: more bytes than the limit, far fewer tokens.
    expect(await new PromptSize(history).excess(115_200, tokenizer.count)).toBeUndefined();
    expect(tokenizer.batches.length).toBe(1);
    expect(chunksOf(tokenizer).length).toBe(16);
    expect(charsOf(tokenizer)).toBeLessThanOrEqual(16 * 256);
  });

  it("measures a prompt left as the client's bytes (JsonText) as it measures the text", async () => {
    const sentence =
      'The "shipment"\nleft the warehouse — on Tuesday\\Wednesday, and the customer asked 😀 for a refund. ';
    const texts = Array.from({ length: 120 }, (_, i) => `${i}: ${sentence.repeat(30)}`);
    const asBytes = (text: string) => {
      const token = Buffer.from(JSON.stringify(text));
      return new JsonText(token, 0, token.length, Buffer.byteLength(text));
    };
    const exact = texts.reduce((sum, text) => sum + countTokens(text), 0) + 3 * texts.length + 3;
    for (const limit of [exact - 1, exact, Math.ceil(exact * 1.1), 115_200, 942_818]) {
      const fromStrings = await new PromptSize(texts.map((content) => ({ content }))).excess(
        limit,
        recordingTokenizer().count,
      );
      const sampled = recordingTokenizer();
      const fromBytes = await new PromptSize(texts.map((text) => ({ content: asBytes(text) }))).excess(
        limit,
        sampled.count,
      );
      expect({ limit, excess: fromBytes }).toEqual({ limit, excess: fromStrings });
      if (limit === 115_200) expect(charsOf(sampled)).toBeLessThanOrEqual(16 * 256);
    }
  });

  it('counts a large prompt near the window exactly, and refuses it only on the count', async () => {
    const text = 'the train rolled on through the night '.repeat(2500);
    const exact = countTokens(text) + 6;
    // Under the limit but within the sample's margin: counted whole, let through.
    const near = recordingTokenizer();
    expect(await new PromptSize([{ content: text }]).excess(Math.ceil(exact * 1.1), near.count)).toBeUndefined();
    expect(charsOf(near)).toBeGreaterThan(text.length - 16 * 256);
    // Just over the limit: the count refuses it, with the exact figure.
    expect(await new PromptSize([{ content: text }]).excess(exact - 1, recordingTokenizer().count)).toEqual({
      tokens: exact,
      atLeast: false,
    });
  });

  it('resumes counting for a larger window where it stopped for a smaller one', async () => {
    const messages = [{ content: 'the train rolled on through the night '.repeat(3000) }];
    const exact = countTokens(messages[0].content) + 6;
    const prompt = new PromptSize(messages);
    const tokenizer = recordingTokenizer();
    expect(await prompt.excess(5_000, tokenizer.count)).toBeDefined();
    expect(await prompt.excess(exact - 1, tokenizer.count)).toEqual({ tokens: exact, atLeast: false });
    expect(await prompt.excess(exact, tokenizer.count)).toBeUndefined();
    // After the sample, every chunk was sent to the tokenizer once: what was counted ahead is kept.
    const [sample, ...counted] = tokenizer.batches;
    expect(sample).toHaveLength(16);
    expect(counted.flat().reduce((sum, length) => sum + length, 0)).toBe(messages[0].content.length);
  });

  it('lets a prompt through uncounted when the tokenizer cannot be had, and can count it again later', async () => {
    const warnings: string[] = [];
    const failing = new ContextGuard(
      { contextGuardRatio: 0.9 },
      new TokenCounter({ warn: (message) => warnings.push(message) }, () => '/nonexistent/tokenizer.js'),
    );
    const prompt = failing.measure([{ content: 'word '.repeat(1200) }]);
    try {
      expect(await failing.refusal(prompt, model(1000))).toBeUndefined();
      expect(failing.tokenizer).toMatchObject({ running: false, starts: 1, failures: 1 });
      expect(warnings).toEqual([expect.stringContaining("the tokenizer's worker failed")]);
      // The same prompt, with a tokenizer that works, is refused on its count.
      expect((await guard.refusal(prompt, model(1000)))?.message).toMatch(/is about 120\d tokens/);
    } finally {
      await failing.onModuleDestroy();
    }
  });
});

/**
 * Tokenizer modules written from `sources`, for a TokenCounter's worker starts: `next` gives the
 * next module's path on each start, then the real o200k tokenizer's.
 */
async function tokenizerModules(sources: string[]): Promise<{ next: () => string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-token-counter-'));
  const paths: string[] = [];
  for (const [index, source] of sources.entries()) {
    paths.push(join(dir, `tokenizer-${index}.js`));
    await writeFile(paths[index], `${source}\n`);
  }
  return {
    next: () => paths.shift() ?? o200kTokenizerPath(),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Epoch ms that move only when told to. */
function manualClock() {
  let now = Date.parse('2026-12-06T10:00:00Z');
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('TokenCounter', () => {
  const warnings: string[] = [];
  const log: WarningLog = { warn: (message) => warnings.push(message) };
  afterEach(() => warnings.splice(0));

  it('starts its worker on the first count, not before, and keeps it', async () => {
    const counter = new TokenCounter(log);
    try {
      expect(counter.stats).toEqual({ running: false, starts: 0, failures: 0 });
      const chunks = ['hello', 'The train left at 6:40, 12 km/h!', '漢字かな', '😀'.repeat(64), ''];
      // Asked for together while the worker loads: both wait for it, then get their counts.
      const [first, second] = await Promise.all([counter.count(chunks), counter.count(['a'.repeat(256)])]);
      expect([...first]).toEqual(chunks.map((chunk) => countTokens(chunk)));
      expect([...second]).toEqual([countTokens('a'.repeat(256))]);
      expect([...(await counter.count(['hello world']))]).toEqual([2]);
      expect(counter.stats).toEqual({ running: true, starts: 1, failures: 0 });
    } finally {
      await counter.close();
    }
    expect(counter.stats.running).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('fails the counts when the tokenizer cannot load, warns once, and starts a new worker on the next need after 1 s', async () => {
    const paths = ['/nonexistent/tokenizer.js'];
    const clock = manualClock();
    const counter = new TokenCounter(log, () => paths.shift() ?? o200kTokenizerPath(), undefined, clock.now);
    try {
      const failed = await Promise.allSettled([counter.count(['hello']), counter.count(['world'])]);
      expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
      expect(failed[0]).toMatchObject({ reason: { name: 'TokenizerUnavailable' } });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('/nonexistent/tokenizer.js');
      expect(counter.stats).toEqual({ running: false, starts: 1, failures: 1 });

      clock.advance(1_000);
      expect([...(await counter.count(['hello']))]).toEqual([1]);
      expect(counter.stats).toEqual({ running: true, starts: 2, failures: 1 });
    } finally {
      await counter.close();
    }
  });

  it('backs off starting workers while they keep failing (1 s, 2 s, 4 s), and from 1 s again after a count', async () => {
    const exitsOnExit = await tokenizerModules([
      "exports.countTokens = (text) => (text === 'exit' ? process.exit(3) : text.length);",
    ]);
    const paths = ['/nonexistent/one.js', '/nonexistent/two.js', '/nonexistent/three.js'];
    const clock = manualClock();
    const counter = new TokenCounter(log, () => paths.shift() ?? exitsOnExit.next(), undefined, clock.now);
    const startsAfter = async (advanceMs: number) => {
      clock.advance(advanceMs);
      await counter.count(['hello']).catch((error: Error) => expect(error.name).toBe('TokenizerUnavailable'));
      return counter.stats.starts;
    };
    try {
      expect(await startsAfter(0)).toBe(1);
      expect(await startsAfter(999)).toBe(1); // refused at once, no worker started
      expect(await startsAfter(1)).toBe(2);
      expect(await startsAfter(1_999)).toBe(2);
      expect(await startsAfter(1)).toBe(3);
      expect(await startsAfter(3_999)).toBe(3);
      expect(await startsAfter(1)).toBe(4); // a tokenizer that loads: it counts
      expect([...(await counter.count(['hello']))]).toEqual([5]);
      await expect(counter.count(['exit'])).rejects.toMatchObject({ name: 'TokenizerUnavailable' });
      expect(counter.stats).toEqual({ running: false, starts: 4, failures: 4 });
      // One warning per failure, each naming when a worker may start again; none for the refusals.
      expect(warnings).toEqual([
        expect.stringContaining('after 1 s'),
        expect.stringContaining('after 2 s'),
        expect.stringContaining('after 4 s'),
        expect.stringContaining('after 1 s'),
      ]);
    } finally {
      await counter.close();
      await exitsOnExit.remove();
    }
  });

  it('fails the counts in flight when its worker dies, warns once, and starts a new worker on the next need', async () => {
    // A tokenizer module whose thread exits on one input: the way out of a real one (out of memory, a
    // crash) is the same 'error' and 'exit' of the worker.
    const modules = await tokenizerModules([
      "exports.countTokens = (text) => (text === 'exit' ? process.exit(3) : text.length);",
    ]);
    const clock = manualClock();
    const counter = new TokenCounter(log, modules.next, undefined, clock.now);
    try {
      expect([...(await counter.count(['four']))]).toEqual([4]);
      const failed = await Promise.allSettled([counter.count(['hello', 'exit']), counter.count(['world'])]);
      expect(failed).toMatchObject([
        { status: 'rejected', reason: { name: 'TokenizerUnavailable' } },
        { status: 'rejected', reason: { name: 'TokenizerUnavailable' } },
      ]);
      expect(warnings).toEqual([expect.stringContaining('exited with code 3')]);
      expect(counter.stats).toEqual({ running: false, starts: 1, failures: 1 });

      clock.advance(1_000);
      expect([...(await counter.count(['hello']))]).toEqual([1]);
      expect(counter.stats).toEqual({ running: true, starts: 2, failures: 1 });
    } finally {
      await counter.close();
      await modules.remove();
    }
  });

  it('stops a worker that leaves a count unanswered, fails the counts in flight, and starts a new one on the next need', async () => {
    // A tokenizer stuck in a loop on one input: its thread never answers and never dies on its own.
    // Both modules load in a moment, so only the stuck count can meet the watchdog, however busy the machine.
    const modules = await tokenizerModules([
      "exports.countTokens = (text) => { while (text === 'loop'); return text.length; };",
      'exports.countTokens = (text) => text.length;',
    ]);
    const clock = manualClock();
    const counter = new TokenCounter(log, modules.next, 2_000, clock.now);
    try {
      expect([...(await counter.count(['four']))]).toEqual([4]);
      const failed = await Promise.allSettled([counter.count(['loop']), counter.count(['world'])]);
      expect(failed).toMatchObject([
        { status: 'rejected', reason: { name: 'TokenizerUnavailable' } },
        { status: 'rejected', reason: { name: 'TokenizerUnavailable' } },
      ]);
      expect(warnings).toEqual([expect.stringContaining('gave no answer within 2000 ms')]);
      expect(counter.stats).toEqual({ running: false, starts: 1, failures: 1 });

      clock.advance(1_000);
      expect([...(await counter.count(['hello']))]).toEqual([5]);
      expect(counter.stats).toEqual({ running: true, starts: 2, failures: 1 });
    } finally {
      await counter.close();
      await modules.remove();
    }
  });

  it('never keeps the process alive: a script that counts and ends exits', async () => {
    // The counter compiled as the app's build compiles it (CommonJS), in a Node process of its own
    // that counts once and never closes it: an idle worker that held the event loop would hang it.
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-token-counter-'));
    try {
      for (const file of ['providers/token-counter', 'common/off-loop-worker']) {
        const source = await readFile(join(process.cwd(), `src/${file}.ts`), 'utf8');
        const compiled = ts.transpileModule(source, {
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2023 },
        });
        await mkdir(join(dir, file, '..'), { recursive: true });
        await writeFile(join(dir, `${file}.js`), compiled.outputText);
      }
      const script = [
        `const { TokenCounter } = require(${JSON.stringify(join(dir, 'providers/token-counter.js'))});`,
        `const counter = new TokenCounter(console, () => ${JSON.stringify(o200kTokenizerPath())});`,
        "counter.count(['hello world']).then((counts) => console.log(counts[0]));",
      ].join('\n');
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { timeout: 30_000 });
      expect(stdout).toBe('2\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails the counts in flight when its worker is stopped', async () => {
    const counter = new TokenCounter(log);
    const inFlight = expect(counter.count(['hello'])).rejects.toMatchObject({ name: 'TokenizerUnavailable' });
    await counter.close();
    await inFlight;
    expect(counter.stats).toEqual({ running: false, starts: 1, failures: 0 });
    expect(warnings).toEqual([]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { SerialReload } from './serial-reload';

/** A table whose reads answer when the test says, with what the table held when the read started. */
class SlowTable {
  value = 0;
  readonly pending: Array<{ snapshot: number; answer: () => void; fail: (error: Error) => void }> = [];

  read = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const snapshot = this.value;
      this.pending.push({ snapshot, answer: () => resolve(snapshot), fail: reject });
    });

  /** Answers the oldest read still waiting. */
  answerNext(): void {
    this.pending.shift()!.answer();
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SerialReload', () => {
  it('never lets an older read replace a newer one: reads run one at a time, in order', async () => {
    const table = new SlowTable();
    const applied: number[] = [];
    const reloads = new SerialReload(table.read, (value) => applied.push(value));
    const periodic = reloads.reload();
    table.value = 1; // committed while the periodic read is out
    const afterCommit = reloads.reload();
    await settle();
    expect(table.pending).toHaveLength(1); // the second read waits for the first
    table.answerNext();
    await periodic;
    await settle();
    table.answerNext();
    await afterCommit;
    expect(applied).toEqual([0, 1]);
  });

  it('settles a reload only once a read started after it is applied, and runs one read for all who asked meanwhile', async () => {
    const table = new SlowTable();
    const applied: number[] = [];
    const reloads = new SerialReload(table.read, (value) => applied.push(value));
    void reloads.reload();
    table.value = 7;
    let settled = 0;
    const asks = [reloads.reload(), reloads.reload(), reloads.reload()].map((ask) => ask.then(() => settled++));
    table.answerNext();
    await settle();
    expect(settled).toBe(0); // what was applied was read before the asks
    expect(table.pending).toHaveLength(1);
    table.answerNext();
    await Promise.all(asks);
    expect(applied).toEqual([0, 7]);
  });

  it('reads again rather than apply a read that started before a change made here', async () => {
    const table = new SlowTable();
    const applied: number[] = [];
    const reloads = new SerialReload(table.read, (value) => applied.push(value));
    const reload = reloads.reload();
    table.value = 3;
    reloads.changedHere();
    table.answerNext();
    await settle();
    expect(applied).toEqual([]);
    table.answerNext();
    await reload;
    expect(applied).toEqual([3]);
  });

  it('rejects the callers of a failed read, and still runs the reload queued behind it', async () => {
    const table = new SlowTable();
    const applied: number[] = [];
    const reloads = new SerialReload(table.read, (value) => applied.push(value));
    const failing = reloads.reload();
    const queued = reloads.reload();
    table.value = 2;
    table.pending.shift()!.fail(new Error('connection lost'));
    await expect(failing).rejects.toThrow('connection lost');
    await settle();
    table.answerNext();
    await queued;
    expect(applied).toEqual([2]);
  });
});

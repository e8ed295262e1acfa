import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstFolderClosedTo, type RunAs } from './postgres-os-user';

describe('firstFolderClosedTo: can the postgres user reach a folder?', () => {
  let root: string;
  // Someone who owns nothing here and is in none of its groups: only the "other" bits count.
  const stranger: RunAs = { user: 'stranger', uid: 54_321, gid: 54_321 };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'switchyard-folders-'));
    await chmod(root, 0o755);
  });
  afterEach(async () => {
    await chmod(root, 0o755);
    await rm(root, { recursive: true, force: true });
  });

  it('names the first folder on the way that others cannot enter, with its mode (mktemp -d makes 0700)', async () => {
    const closed = join(root, 'mktemp');
    await mkdir(join(closed, 'clone', '.data'), { recursive: true });
    await chmod(closed, 0o700);
    expect(await firstFolderClosedTo(join(closed, 'clone', '.data'), stranger)).toEqual({
      folder: closed,
      mode: '0700',
    });
  });

  it('finds nothing when every folder on the way can be entered, including ones not created yet', async () => {
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    await chmod(join(root, 'a'), 0o711);
    expect(await firstFolderClosedTo(join(root, 'a', 'b', 'not-yet', 'data'), stranger)).toBeUndefined();
  });

  it("judges the owner by the owner's bits and the group by the group's, not by the others'", async () => {
    const folder = join(root, 'owned');
    await mkdir(folder);
    const { uid, gid } = await stat(folder);
    await chmod(folder, 0o071);
    expect(await firstFolderClosedTo(folder, { user: 'owner', uid, gid: 54_321 })).toEqual({ folder, mode: '0071' });
    await chmod(folder, 0o701);
    expect(await firstFolderClosedTo(folder, { user: 'member', uid: 54_321, gid })).toEqual({ folder, mode: '0701' });
    expect(await firstFolderClosedTo(folder, stranger)).toBeUndefined();
  });
});

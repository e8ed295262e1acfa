import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * The kernel's pseudo file systems by statfs type (linux/magic.h): their folders are views of the
 * kernel, never a place for our files. Node 20's recursive mkdir never returns for a path in /proc
 * (mkdir answers ENOENT under a parent that exists, and it tries the parent again, without end), so
 * a folder on one is refused before mkdir is called.
 */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x65735543, 'fusectl'],
  [0x42494e4d, 'binfmt_misc'],
  [0xf97cff8c, 'selinuxfs'],
  [0x6e736673, 'nsfs'],
]);

/**
 * Why `path` cannot be a folder of ours when it is, or would be made, on a pseudo file system:
 * "/proc is on proc, a pseudo file system of the kernel, not a disk" (the nearest folder of its path
 * that exists is named); undefined on any other file system.
 */
export async function pseudoFileSystemProblem(path: string): Promise<string | undefined> {
  let folder = resolve(path);
  for (;;) {
    const info = await statfs(folder).catch(() => undefined);
    if (info) {
      const type = PSEUDO_FILE_SYSTEMS.get(Number(info.type));
      return type && `${folder} is on ${type}, a pseudo file system of the kernel, not a disk`;
    }
    if (dirname(folder) === folder) return undefined;
    folder = dirname(folder);
  }
}

import { execFileSync } from 'node:child_process';

/**
 * A Postgres that hangs rather than refuses (a paused container, a stalled disk): its postmaster
 * and every backend stopped with SIGSTOP, so connections stay open and queries wait without an
 * error. Backends run in sessions of their own, so each one gets the signal, not the group.
 */
export class PausedPostgres {
  private constructor(private readonly pids: number[]) {}

  static pause(postmaster: number): PausedPostgres {
    const backends = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
    const paused = new PausedPostgres([postmaster, ...backends]);
    for (const pid of paused.pids) process.kill(pid, 'SIGSTOP');
    return paused;
  }

  /** Lets every process run again; later calls do nothing. */
  resume(): void {
    for (const pid of this.pids.splice(0)) process.kill(pid, 'SIGCONT');
  }
}

import { execFileSync } from 'node:child_process';

/**
 * A Postgres that hangs rather than refuses (a paused container, a stalled disk): its postmaster
 * and every backend stopped with SIGSTOP, so connections stay open and queries wait without an
 * error. Backends run in sessions of their own, so each one gets the signal, not the group.
 */
export class PausedPostgres {
  private constructor(private readonly pids: number[]) {}

  static pause(postmaster: number): PausedPostgres {
    // The postmaster first: stopped, it forks no backend after its children are listed. Listed
    // first, a connection the app opened in between kept a backend that answered (a flaky test).
    process.kill(postmaster, 'SIGSTOP');
    const backends = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
    for (const pid of backends) process.kill(pid, 'SIGSTOP');
    return new PausedPostgres([postmaster, ...backends]);
  }

  /** Lets every process run again; later calls do nothing. */
  resume(): void {
    for (const pid of this.pids.splice(0)) process.kill(pid, 'SIGCONT');
  }
}

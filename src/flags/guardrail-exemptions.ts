import { Injectable } from '@nestjs/common';

/** Answers the keys of the flags its owner watches right now. */
export type FlagWatcher = () => Promise<Iterable<string>>;

/**
 * Flags that something else already watches, so the guardrail keeps off them: a flag under an active
 * canary is judged against its control and moved by the canary, not zeroed by a blunter rule. The
 * watcher registers itself (the canary module at start-up), so flags/ knows nothing of canaries.
 */
@Injectable()
export class GuardrailExemptions {
  private readonly watchers: FlagWatcher[] = [];

  register(watcher: FlagWatcher): void {
    this.watchers.push(watcher);
  }

  async flagKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for (const watcher of this.watchers) for (const key of await watcher()) keys.add(key);
    return keys;
  }
}

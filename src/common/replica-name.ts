import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * A replica's name in shared rows (leases, receipts, events, reload records): host and pid for the
 * operator, plus a random part so that a restarted process, or a second app in one test process,
 * never passes for the one before it.
 */
export function newReplicaName(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

import { createServer } from 'node:net';
import { StartupError } from './startup-error';

export interface ConfiguredPort {
  port: number;
  host: string;
  /** The environment variable that sets it, named in the message. */
  variable: string;
  /** The environment variable that sets `host`, when one does (HOST for the gateway). */
  hostVariable?: string;
  /** What listens there, e.g. "the built-in simulated provider". */
  what: string;
  /** Another way out besides freeing the port or changing the variable, e.g. "set DATABASE_URL". */
  otherwise?: string;
}

/**
 * Fails start-up with one line naming the variable when `port` is taken, or `host` is no address of
 * this machine, before anything else is started: a raw EADDRINUSE or ENOTFOUND deep in start-up says
 * neither what the port is for nor how to move it. (Someone can still take the port between this
 * probe and the real bind; that error is mapped to the same line by `describePortError`.)
 */
export function assertPortFree(configured: ConfiguredPort): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      const message = describePortError(error, [configured]);
      if (message) reject(new StartupError(message, { cause: error }));
      else resolve(); // not a port problem: the real bind reports it
    });
    probe.listen(configured.port, configured.host, () => probe.close(() => resolve()));
  });
}

/** What a listen error with one of these codes says about the host it was asked to bind. */
const HOST_PROBLEMS: Record<string, string> = {
  ENOTFOUND: 'cannot be resolved',
  // No answer from DNS at all.
  EAI_AGAIN: 'cannot be resolved',
  EADDRNOTAVAIL: 'is not an address of this machine',
};

/** The one-line explanation of a listen error on one of `ports`, or undefined if it is not one. */
export function describePortError(error: unknown, ports: ConfiguredPort[]): string | undefined {
  const { code, port, hostname, address } = (error ?? {}) as NodeJS.ErrnoException & {
    port?: number;
    hostname?: string;
    address?: string;
  };
  // A name that does not resolve fails before any port is tried, and port 0 is no port: such errors
  // name only the host.
  const configured =
    ports.find((candidate) => candidate.port === port) ??
    ports.find((candidate) => candidate.host === (hostname ?? address));
  if (!configured || code === undefined) return undefined;
  const { variable, what, host, otherwise, hostVariable } = configured;
  if (code in HOST_PROBLEMS) {
    if (!hostVariable) return undefined;
    return (
      `${hostVariable} ${host} (${what}) ${HOST_PROBLEMS[code]} (${code}); set ${hostVariable} to an address of ` +
      'this machine, e.g. 0.0.0.0 (every interface) or 127.0.0.1 (this machine only)'
    );
  }
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return undefined;
  const ways = [`set ${variable} to a free port`, otherwise].filter(Boolean).join(', or ');
  if (code === 'EACCES') {
    return `${variable} ${port} (${what}) may not be bound on ${host} by this user (ports below 1024 need privileges); ${ways}`;
  }
  return `${variable} ${port} (${what}) is already in use on ${host} (another Switchyard still running?); stop what holds it, or ${ways}`;
}

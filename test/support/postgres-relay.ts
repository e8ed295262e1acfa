import { connect, createServer, type Server, type Socket } from 'node:net';

/** ReadyForQuery with status 'I': the server is idle, so the statement's transaction has ended (committed). */
const READY_AND_IDLE = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);

/**
 * A TCP relay in front of Postgres, for the faults a network or a proxy causes:
 * - `cutAfterCommit(marker)`: cuts the connection that carried the next statement containing
 *   `marker` as soon as Postgres says that statement's transaction is over. The work is committed
 *   (ReadyForQuery comes after the commit), but the app only sees its connection die.
 * - `freezeAfter(marker)`: the connection of the next statement containing `marker` goes silent
 *   once that statement has reached Postgres: nothing more passes either way and neither side is
 *   closed, as in a network partition (no FIN reaches anyone). Other connections go on.
 * - `disconnect()`: drops every connection and every new one, as a database that went away.
 */
export class PostgresRelay {
  private readonly server: Server;
  private readonly clients = new Set<Socket>();
  private readonly frozen = new Set<Socket>();
  private marker: string | null = null;
  private freezeMarker: string | null = null;
  private refusing = false;
  cuts = 0;
  freezes = 0;
  /** The names of the startup parameters each connection opened with, in order. */
  readonly startupParameters: string[][] = [];

  private constructor(private readonly target: URL) {
    this.server = createServer((client) => this.relay(client));
  }

  /** Starts the relay; `url` is the database URL to give the app instead of the real one. */
  static async start(databaseUrl: string): Promise<{ relay: PostgresRelay; url: string }> {
    const relay = new PostgresRelay(new URL(databaseUrl));
    await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String((relay.server.address() as { port: number }).port);
    return { relay, url: url.toString() };
  }

  /** Cuts once: the connection of the next statement that contains `marker`, after its commit. */
  cutAfterCommit(marker: string): void {
    this.marker = marker;
  }

  /** Freezes once: the connection of the next statement that contains `marker`, after sending it. */
  freezeAfter(marker: string): void {
    this.freezeMarker = marker;
  }

  /** From now on the database is gone: open connections drop, new ones are closed at once. */
  disconnect(): void {
    this.refusing = true;
    for (const client of this.clients) client.destroy();
  }

  close(): Promise<void> {
    for (const socket of this.frozen) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    this.clients.add(client);
    client.on('close', () => this.clients.delete(client));
    const upstream = connect(Number(this.target.port || 5432), this.target.hostname);
    let carriesMarked = false;
    let frozen = false;
    let first = true;
    client.on('data', (chunk: Buffer) => {
      if (first) this.startupParameters.push(startupParameterNames(chunk));
      first = false;
      if (frozen) return;
      if (this.marker !== null && chunk.includes(this.marker)) carriesMarked = true;
      upstream.write(chunk);
      if (this.freezeMarker !== null && chunk.includes(this.freezeMarker)) {
        this.freezeMarker = null;
        this.freezes++;
        frozen = true;
        this.frozen.add(client).add(upstream);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (frozen) return;
      if (carriesMarked && this.marker !== null && chunk.includes(READY_AND_IDLE)) {
        this.marker = null;
        this.cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      // A frozen connection's end is not passed on either: in a partition, nothing reaches the other side.
      from.on('error', () => frozen || to.destroy());
      from.on('close', () => frozen || to.destroy());
    }
  }
}

/** Protocol 3.0's StartupMessage: length, version 196608, then name\0value\0 pairs and a final \0. */
function startupParameterNames(message: Buffer): string[] {
  if (message.length < 8 || message.readInt32BE(4) !== 196_608) return [];
  const fields = message.subarray(8, message.readInt32BE(0)).toString('utf8').split('\0');
  return fields.filter((_, index) => index % 2 === 0 && index < fields.length - 2);
}

import { connect, createServer, type Server, type Socket } from 'node:net';

export type SwitchMode = 'pass' | 'refuse' | 'hang' | 'stall';

interface Relay {
  client: Socket;
  upstream: Socket;
  /** taken out of the relay by `hang`: its sockets' ends no longer concern it */
  detached: boolean;
}

/**
 * A TCP hop in front of a server, to break the link the way a peer breaks:
 * - `refuse`: nothing listens on the port any more (connects fail with ECONNREFUSED) and the
 *   connections open at that moment are reset, requests in flight included;
 * - `hang`: connections are accepted and requests taken, but nothing is forwarded and nothing
 *   answers; the connections open at that moment go silent too (an answer on its way is lost);
 * - `stall`: requests are forwarded but the answers are held back, and delivered in order when
 *   the switch leaves `stall` (a peer that is slow, not gone);
 * - `pass`: a plain relay. Leaving `hang` resets the silent connections, as a restarted peer would.
 */
export class TcpSwitch {
  private mode: SwitchMode = 'pass';
  private readonly relayed = new Set<Relay>();
  private readonly silent = new Set<Socket>();
  private server: Server;

  private constructor(
    private readonly port: number,
    private readonly targetUrl: string,
    private readonly target: { host: string; port: number },
    server: Server,
  ) {
    this.server = server;
  }

  /** Listens on a free port of 127.0.0.1 and relays to `targetUrl`'s host and port. */
  static async start(targetUrl: string): Promise<TcpSwitch> {
    const url = new URL(targetUrl);
    const target = { host: url.hostname, port: Number(url.port) };
    let self: TcpSwitch | undefined;
    const server = createServer((socket) => self?.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    self = new TcpSwitch(address.port, targetUrl, target, server);
    return self;
  }

  /** the switch's own address, in `targetUrl`'s scheme and path (`redis://…/3` stays on DB 3) */
  get url(): string {
    const url = new URL(this.targetUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString().replace(/\/$/, '');
  }

  async set(mode: SwitchMode): Promise<void> {
    if (mode === this.mode) return;
    const was = this.mode;
    this.mode = mode;
    if (was === 'refuse') await this.listen();
    if (was === 'hang') for (const socket of this.silent) socket.resetAndDestroy();
    // a paused readable keeps what arrives: piping it again delivers it, in order
    if (was === 'stall') for (const pair of this.relayed) pair.upstream.pipe(pair.client);
    if (mode === 'stall') for (const pair of this.relayed) pair.upstream.unpipe(pair.client).pause();
    this.silent.clear();
    if (mode === 'refuse') {
      // close() waits for the open connections: they are reset right after
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const pair of this.relayed) {
        pair.client.resetAndDestroy();
        pair.upstream.destroy();
      }
      this.relayed.clear();
      await closed;
    }
    if (mode === 'hang') {
      for (const pair of this.relayed) {
        pair.detached = true;
        pair.client.unpipe(pair.upstream);
        pair.upstream.unpipe(pair.client);
        pair.upstream.destroy();
        this.silence(pair.client);
      }
      this.relayed.clear();
    }
  }

  async close(): Promise<void> {
    for (const pair of this.relayed) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    const closed = this.server.listening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : Promise.resolve();
    for (const socket of this.silent) socket.destroy();
    await closed;
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    if (this.mode === 'hang') {
      this.silence(client);
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    const pair: Relay = { client, upstream, detached: false };
    this.relayed.add(pair);
    const end = (): void => {
      if (pair.detached) return;
      this.relayed.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', end);
    upstream.on('close', end);
    client.on('close', end);
    client.pipe(upstream);
    if (this.mode === 'stall') upstream.pause();
    else upstream.pipe(client);
  }

  /** Takes whatever the client sends, answers nothing. */
  private silence(client: Socket): void {
    this.silent.add(client);
    client.on('close', () => this.silent.delete(client));
    client.resume();
  }

  private async listen(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }
}

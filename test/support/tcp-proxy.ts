/**
 * A TCP proxy on loopback that a test can cut, as a network drop would, without touching the
 * server behind it: the broker keeps running (and keeps its sessions) while its clients lose their
 * connections. `setUp(false)` destroys every connection and refuses new ones until `setUp(true)`;
 * `stall()` stops carrying bytes on the open connections without closing them (a link that went
 * quiet, so a request is in flight and its answer never comes).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly #server: Server;
  readonly #target: { readonly host: string; readonly port: number };
  readonly #pairs = new Set<{ readonly client: Socket; readonly upstream: Socket }>();
  #up = true;
  /** Connections accepted so far (a client's reconnects show here). */
  accepted = 0;

  private constructor(server: Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
    server.on('connection', (client) => this.#accept(client));
  }

  /** Listens on 127.0.0.1 at a free port, forwarding to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, target);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** The port the proxy listens on. */
  get port(): number {
    const a = this.#server.address();
    if (a === null || typeof a === 'string') throw new Error('the proxy is not listening');
    return a.port;
  }

  /** Connections open now. */
  get open(): number {
    return this.#pairs.size;
  }

  /** Down: every open connection is destroyed and new ones are closed at once. Up: carries them again. */
  setUp(up: boolean): void {
    this.#up = up;
    if (!up) for (const p of this.#pairs) this.#drop(p);
  }

  /** Stops carrying bytes either way on the open connections, leaving them open. */
  stall(): void {
    for (const { client, upstream } of this.#pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** Destroys every connection and stops listening. */
  close(): Promise<void> {
    this.#up = false;
    for (const p of this.#pairs) this.#drop(p);
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted++;
    if (!this.#up) {
      client.destroy();
      return;
    }
    const upstream = createConnection(this.#target);
    const pair = { client, upstream };
    this.#pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    for (const s of [client, upstream]) {
      // Either end failing or closing ends both: the proxy is one link.
      s.on('error', () => this.#drop(pair));
      s.on('close', () => this.#drop(pair));
    }
  }

  #drop(pair: { readonly client: Socket; readonly upstream: Socket }): void {
    this.#pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }
}

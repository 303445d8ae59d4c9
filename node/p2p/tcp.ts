/**
 * The node:net adapter of `chain/`: the only file there that opens TCP sockets. It turns sockets
 * into ByteLinks (bytes in, bytes out, one close) with Nagle's algorithm off (a vote is a few hundred
 * bytes that must leave now, not after the next ACK). Writes made in one tick of the event loop are
 * corked and leave together at its end (one writev instead of one syscall and one segment per
 * message: a burst of relayed transactions costs a fraction of the CPU, and nothing waits past the
 * current tick). Everything above it (framing, handshake, gossip) sees ByteLink only, so tests can
 * run it over real sockets or in-memory pairs.
 */
import { createConnection, createServer, type Socket } from 'node:net';

/** A bidirectional byte stream to one remote party. */
export interface ByteLink {
  /** `host:port` of the other end. */
  readonly remote: string;
  /** Queues bytes; false when the link's send buffer is above its high-water mark. */
  write(bytes: Uint8Array): boolean;
  /** Bytes queued and not yet handed to the kernel. */
  readonly pendingWriteBytes: number;
  onData(listener: (bytes: Uint8Array) => void): void;
  /** Called once when the link is closed by either side or fails. */
  onClose(listener: (reason: string) => void): void;
  /** Closes the link at once, dropping what is queued. */
  destroy(): void;
}

/** A listening TCP server. */
export interface TcpListener {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

function wrap(socket: Socket): ByteLink {
  socket.setNoDelay(true);
  const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
  let closed = false;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const closers: ((reason: string) => void)[] = [];
  let lastError = '';
  socket.on('error', (err) => {
    lastError = (err as NodeJS.ErrnoException).code ?? err.message;
  });
  socket.on('close', () => {
    if (closed) return;
    closed = true;
    for (const c of closers) c(lastError === '' ? 'closed by peer' : lastError);
  });
  return {
    remote,
    write: (bytes) => {
      if (closed) return false;
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      return socket.write(bytes);
    },
    get pendingWriteBytes() {
      return socket.writableLength;
    },
    onData: (listener) => socket.on('data', (b: Buffer) => listener(b)),
    onClose: (listener) => closers.push(listener),
    destroy: () => socket.destroy(),
  };
}

/** Listens on host:port (port 0: any free port); each accepted socket goes to `onLink`. */
export function listenTcp(
  host: string,
  port: number,
  onLink: (link: ByteLink) => void,
): Promise<TcpListener> {
  const server = createServer((socket) => onLink(wrap(socket)));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
      resolve({
        host,
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
          }),
      });
    });
  });
}

/** Connects to host:port; rejects with the system error code after `timeoutMs`. */
export function dialTcp(host: string, port: number, timeoutMs: number): Promise<ByteLink> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${host}:${port}: timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`connect to ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(wrap(socket));
    });
  });
}

/**
 * TCP for the gpsd client: the only file under firmware-bridge/ that imports `node:net`. A socket is
 * presented as a `SerialLink` (bytes in chunks, a close that says whether the peer went away), so
 * the client's protocol logic runs unchanged over an in-memory pair in unit tests.
 */
import { connect, type Socket } from 'node:net';
import { LinkListeners, SerialError, type SerialLink } from '../serial/serial-link.js';

/** Where to connect and how long to wait for it. */
export interface TcpTarget {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs?: number;
}

/** Opens a TCP connection; rejects with SerialError OPEN_FAILED naming host:port and the OS error. */
export function connectTcp(target: TcpTarget): Promise<SerialLink> {
  const where = `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SerialError('OPEN_FAILED', where, `no connection within ${target.timeoutMs ?? 3000} ms`));
    }, target.timeoutMs ?? 3000);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new SerialError('OPEN_FAILED', where, `cannot connect: ${err.message}`));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(wrap(socket, where));
    });
  });
}

function wrap(socket: Socket, where: string): SerialLink {
  const listeners = new LinkListeners();
  let closing = false;
  let lastError: Error | undefined;
  socket.on('data', (chunk: Buffer) => listeners.emitData(chunk));
  socket.on('error', (err) => {
    lastError = err;
  });
  socket.on('close', () =>
    listeners.emitClose({ disconnected: !closing, ...(lastError ? { error: lastError } : {}) }),
  );
  return {
    path: where,
    get isOpen() {
      return !listeners.isEnded && !socket.destroyed;
    },
    write(data) {
      return new Promise<void>((resolve, reject) => {
        if (socket.destroyed) {
          reject(new SerialError('CLOSED', where, 'connection is closed'));
          return;
        }
        socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, (err) =>
          err ? reject(new SerialError('WRITE_FAILED', where, err.message)) : resolve(),
        );
      });
    },
    onData: (l) => listeners.onData(l),
    onClose: (l) => listeners.onClose(l),
    close() {
      closing = true;
      return new Promise<void>((resolve) => {
        if (socket.destroyed) {
          listeners.emitClose({ disconnected: false });
          resolve();
          return;
        }
        socket.once('close', () => resolve());
        socket.end();
        socket.destroySoon();
      });
    },
  };
}

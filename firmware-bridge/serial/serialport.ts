/**
 * The `serialport` adapter: the only file that imports the package. Opens the port raw (8N1, no
 * flow control), forwards bytes, and reports an unplugged device (`disconnected`) separately from an
 * orderly close, so drivers can reopen the port when it comes back.
 *
 * On Linux and macOS the package waits for a readable or writable descriptor through one native poll
 * handle per port, and `@serialport/bindings-cpp` (13.0.0) restarts that handle with only the event
 * asked for last: a write that meets a full buffer while a read waits for data (or the other way
 * round) drops the older wait, and that side then stalls for ever. Both directions busy at once, as
 * an ELM327 answering while a long command is written, hang the link. {@link pollForEveryWaiter}
 * makes every poll ask for all the events something still waits for.
 */
import type { SerialPort } from 'serialport';
import { LinkListeners, SerialError, type SerialLink, type SerialOpenOptions } from './serial-link.js';

let serialportModule: Promise<typeof import('serialport')> | undefined;

/**
 * Loads `serialport` (and its native binding) on the first open rather than at import, so a device
 * that reads only CAN or gpsd starts without it.
 */
async function loadSerialPort(path: string): Promise<typeof SerialPort> {
  serialportModule ??= import('serialport');
  try {
    return (await serialportModule).SerialPort;
  } catch (err) {
    serialportModule = undefined;
    throw new SerialError(
      'OPEN_FAILED',
      path,
      `the serialport package did not load (${(err as Error).message.split('\n')[0]}); serial devices need it: reinstall qoodblock with its dependencies`,
    );
  }
}

/**
 * Opens a serial port; rejects with SerialError('OPEN_FAILED') naming the path and the OS error, or
 * the `serialport` package when it cannot be loaded.
 */
export async function openSerialPort(options: SerialOpenOptions): Promise<SerialLink> {
  const SerialPortClass = await loadSerialPort(options.path);
  const port = new SerialPortClass({
    path: options.path,
    baudRate: options.baudRate,
    autoOpen: false,
    hupcl: false,
  });
  await new Promise<void>((resolve, reject) =>
    port.open((err) =>
      err ? reject(new SerialError('OPEN_FAILED', options.path, `cannot open: ${err.message}`)) : resolve(),
    ),
  );
  pollForEveryWaiter(port.port);
  const listeners = new LinkListeners();
  port.on('data', (chunk: Buffer) => listeners.emitData(chunk));
  port.on('close', (err?: Error & { disconnected?: boolean }) =>
    listeners.emitClose({ disconnected: err?.disconnected === true, ...(err ? { error: err } : {}) }),
  );
  // An 'error' without a listener would throw; the close that follows carries what matters.
  port.on('error', () => {});
  return {
    path: options.path,
    get isOpen() {
      return port.isOpen && !listeners.isEnded;
    },
    write(data) {
      return new Promise<void>((resolve, reject) => {
        if (!port.isOpen) {
          reject(new SerialError('CLOSED', options.path, 'port is closed'));
          return;
        }
        const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
        port.write(buf, (err) => {
          if (err) {
            reject(new SerialError('WRITE_FAILED', options.path, err.message));
            return;
          }
          port.drain((e) =>
            e ? reject(new SerialError('WRITE_FAILED', options.path, e.message)) : resolve(),
          );
        });
      });
    },
    onData: (l) => listeners.onData(l),
    onClose: (l) => listeners.onClose(l),
    close() {
      return new Promise<void>((resolve) => {
        if (!port.isOpen) {
          listeners.emitClose({ disconnected: false });
          resolve();
          return;
        }
        port.close(() => {
          listeners.emitClose({ disconnected: false });
          resolve();
        });
      });
    },
  };
}

/** The JS poller of a unix port binding (bindings-cpp's `Poller`), as far as this file relies on it. */
interface UnixPoller {
  listenerCount(event: string): number;
  poll(eventFlag?: number): void;
  readonly poller: { poll(eventFlag: number): void };
}

const UV_READABLE = 0b001;
const UV_WRITABLE = 0b010;
const UV_DISCONNECT = 0b100;

function isUnixPoller(p: unknown): p is UnixPoller {
  if (typeof p !== 'object' || p === null) return false;
  const q = p as Partial<UnixPoller>;
  return (
    typeof q.listenerCount === 'function' &&
    typeof q.poll === 'function' &&
    typeof q.poller === 'object' &&
    q.poller !== null &&
    typeof q.poller.poll === 'function'
  );
}

/**
 * Makes the port's poller ask the native handle for `eventFlag` together with every event that a
 * read, a write or a disconnect watch is still waiting for, so starting one wait never cancels
 * another. A binding without a unix poller (Windows, a mock) is left alone. Returns whether it applied.
 */
export function pollForEveryWaiter(binding: unknown): boolean {
  const poller = (binding as { poller?: unknown } | undefined)?.poller;
  if (!isUnixPoller(poller)) return false;
  const native = poller.poller;
  poller.poll = (eventFlag = 0) => {
    let events = eventFlag;
    if (poller.listenerCount('readable') > 0) events |= UV_READABLE;
    if (poller.listenerCount('writable') > 0) events |= UV_WRITABLE;
    if (poller.listenerCount('disconnect') > 0) events |= UV_DISCONNECT;
    native.poll(events);
  };
  return true;
}

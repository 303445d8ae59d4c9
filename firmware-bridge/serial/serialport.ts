/**
 * The `serialport` adapter: the only file that imports the package. Opens the port raw (8N1, no
 * flow control), forwards bytes, and reports an unplugged device (`disconnected`) separately from an
 * orderly close, so drivers can reopen the port when it comes back.
 */
import { SerialPort } from 'serialport';
import { LinkListeners, SerialError, type SerialLink, type SerialOpenOptions } from './serial-link.js';

/** Opens a serial port; rejects with SerialError('OPEN_FAILED') naming the path and the OS error. */
export async function openSerialPort(options: SerialOpenOptions): Promise<SerialLink> {
  const port = new SerialPort({
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

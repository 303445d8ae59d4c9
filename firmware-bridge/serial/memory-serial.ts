/**
 * `MemorySerialPair`: two connected in-memory `SerialLink` ends, for unit tests of protocol logic
 * (a driver on one end, an emulator on the other). Bytes are delivered asynchronously, like a port.
 */
import { LinkListeners, SerialError, type SerialLink } from './serial-link.js';

class MemoryEnd implements SerialLink {
  readonly listeners = new LinkListeners();
  peer: MemoryEnd | undefined;

  constructor(readonly path: string) {}

  get isOpen(): boolean {
    return !this.listeners.isEnded;
  }

  write(data: Uint8Array | string): Promise<void> {
    if (!this.isOpen) return Promise.reject(new SerialError('CLOSED', this.path, 'port is closed'));
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : Uint8Array.from(data);
    const peer = this.peer;
    setImmediate(() => {
      if (peer?.isOpen) peer.listeners.emitData(bytes);
    });
    return Promise.resolve();
  }

  onData(l: (chunk: Uint8Array) => void): () => void {
    return this.listeners.onData(l);
  }

  onClose(l: (info: { disconnected: boolean; error?: Error }) => void): () => void {
    return this.listeners.onClose(l);
  }

  close(): Promise<void> {
    this.listeners.emitClose({ disconnected: false });
    // The other end sees its device go away, as a pty master does when the slave closes, but only
    // after the bytes already written (queued ahead of this) reach it: the master reads the
    // slave's last bytes before it gets EIO.
    const peer = this.peer;
    setImmediate(() => peer?.listeners.emitClose({ disconnected: true }));
    return Promise.resolve();
  }
}

/** Two linked ends: what `a` writes, `b` receives, and back. */
export class MemorySerialPair {
  readonly a: SerialLink;
  readonly b: SerialLink;

  constructor(pathA = 'mem-a', pathB = 'mem-b') {
    const a = new MemoryEnd(pathA);
    const b = new MemoryEnd(pathB);
    a.peer = b;
    b.peer = a;
    this.a = a;
    this.b = b;
  }
}

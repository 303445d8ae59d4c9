/**
 * `SerialLink`: the one interface the OBD (ELM327) and NMEA drivers use to talk to a serial port.
 * `openSerialPort` implements it on the `serialport` package (a USB dongle, a UART, or a pseudo-
 * terminal in tests); `MemorySerialPair` implements it in memory for unit tests of protocol logic.
 */

/** A byte stream to a serial device. Bytes arrive in whatever chunks the OS delivers them. */
export interface SerialLink {
  /** Device path (`/dev/ttyUSB0`, `/dev/pts/3`). */
  readonly path: string;
  /** Writes bytes (a string is sent as latin1, which is what AT commands and NMEA are). */
  write(data: Uint8Array | string): Promise<void>;
  /** Subscribes to received bytes; returns the unsubscribe function. */
  onData(listener: (chunk: Uint8Array) => void): () => void;
  /**
   * Subscribes to the end of the link: `disconnected` true when the device went away (unplugged,
   * the pty's other side closed), false after `close()`. Called once.
   */
  onClose(listener: (info: { disconnected: boolean; error?: Error }) => void): () => void;
  /** True until the link closes or is disconnected. */
  readonly isOpen: boolean;
  /** Closes the port. Idempotent. */
  close(): Promise<void>;
}

/** How to open a serial port. */
export interface SerialOpenOptions {
  readonly path: string;
  /** Line speed in baud (ELM327: 38400 default, 9600 on old chips, up to 115200/500000 on v2.x). */
  readonly baudRate: number;
}

/** Opens a port; injected into drivers so tests can give them a memory pair. */
export type OpenSerial = (options: SerialOpenOptions) => Promise<SerialLink>;

export type SerialErrorCode = 'OPEN_FAILED' | 'WRITE_FAILED' | 'CLOSED';

/** Why a serial operation failed, with the port path. */
export class SerialError extends Error {
  constructor(
    readonly code: SerialErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'SerialError';
  }
}

type Listener<T> = (v: T) => void;

/** Listener bookkeeping shared by the adapters. */
export class LinkListeners {
  readonly #data = new Set<Listener<Uint8Array>>();
  readonly #closed = new Set<Listener<{ disconnected: boolean; error?: Error }>>();
  #ended = false;

  onData(l: Listener<Uint8Array>): () => void {
    this.#data.add(l);
    return () => this.#data.delete(l);
  }

  onClose(l: Listener<{ disconnected: boolean; error?: Error }>): () => void {
    this.#closed.add(l);
    return () => this.#closed.delete(l);
  }

  emitData(chunk: Uint8Array): void {
    for (const l of this.#data) l(chunk);
  }

  /** Emits the close once; later calls do nothing. */
  emitClose(info: { disconnected: boolean; error?: Error }): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const l of this.#closed) l(info);
  }

  get isEnded(): boolean {
    return this.#ended;
  }
}

/**
 * A GNSS receiver on a serial port (USB, UART, Bluetooth rfcomm) that speaks NMEA 0183: reads bytes
 * through a `SerialLink`, decodes them with `NmeaDecoder`, and emits one fix per epoch. When the
 * port disappears (receiver unplugged, pty closed) it reports `down` and reopens the same path with
 * a growing wait until it is back; a quiet receiver's open epoch is emitted after `epochIdleMs`.
 */
import type { OpenSerial, SerialLink } from '../serial/serial-link.js';
import { type GnssClock, type GnssFix, systemGnssClock } from './fix.js';
import { NmeaDecoder } from './nmea-decoder.js';
import {
  Backoff,
  type GnssSource,
  GnssSourceError,
  type GnssSourceEvent,
  type GnssSourceStats,
  type RetryOptions,
  SourceListeners,
} from './source.js';

export interface NmeaSerialOptions extends RetryOptions {
  /** Device path (`/dev/ttyACM0`, `/dev/ttyUSB0`, `/dev/serial0`). */
  readonly path: string;
  /** Line speed; most receivers default to 9600, u-blox M8/M9 and MediaTek often 38400-115200. */
  readonly baudRate: number;
  /** Opens the port (`openSerialPort` on a device, a memory pair in tests). */
  readonly openSerial: OpenSerial;
  /** Emit a pending epoch after this long without input (default 1500 ms). */
  readonly epochIdleMs?: number;
  readonly clock?: GnssClock;
}

/**
 * Opens the port and starts reading. Rejects with GnssSourceError OPEN_FAILED if the first open
 * fails, unless `retryFirstOpen`, which keeps trying in the background.
 */
export async function openNmeaSerial(options: NmeaSerialOptions): Promise<GnssSource> {
  const src = new NmeaSerialSource(options);
  try {
    await src.open();
  } catch (err) {
    if (!options.retryFirstOpen)
      throw new GnssSourceError('OPEN_FAILED', options.path, (err as Error).message);
    src.retryLater((err as Error).message);
  }
  return src;
}

class NmeaSerialSource implements GnssSource {
  readonly name: string;
  readonly #listeners = new SourceListeners();
  readonly #decoder: NmeaDecoder;
  readonly #backoff: Backoff;
  readonly #idleMs: number;
  #link: SerialLink | undefined;
  #unsubscribe: (() => void)[] = [];
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #opens = 0;
  #disconnects = 0;

  readonly #options: NmeaSerialOptions;

  constructor(options: NmeaSerialOptions) {
    this.#options = options;
    this.name = `nmea:${options.path}`;
    this.#backoff = new Backoff(options);
    this.#idleMs = options.epochIdleMs ?? 1500;
    this.#decoder = new NmeaDecoder({
      clock: options.clock ?? systemGnssClock,
      onFix: (f: GnssFix) => this.#listeners.emitFix(f),
      onProblem: (problem) => this.#event({ type: 'bad-input', where: options.path, problem }),
    });
  }

  /** @internal Opens the port once; rejects with the serial error. */
  async open(): Promise<void> {
    const link = await this.#options.openSerial({
      path: this.#options.path,
      baudRate: this.#options.baudRate,
    });
    if (this.#closed) {
      await link.close();
      return;
    }
    this.#link = link;
    this.#decoder.reset();
    if (this.#opens++ > 0) this.#backoff.succeeded();
    this.#unsubscribe = [
      link.onData((chunk) => {
        this.#decoder.push(chunk);
        this.#armIdle();
      }),
      link.onClose((info) => this.#onClose(info)),
    ];
    this.#event({ type: 'open', where: this.#options.path });
  }

  onFix(listener: (fix: GnssFix) => void): () => void {
    return this.#listeners.onFix(listener);
  }

  onEvent(listener: (event: GnssSourceEvent) => void): () => void {
    return this.#listeners.onEvent(listener);
  }

  stats(): GnssSourceStats {
    const d = this.#decoder.stats();
    return {
      fixes: d.fixes,
      reopens: Math.max(0, this.#opens - 1),
      disconnects: this.#disconnects,
      badInput: d.badSentences + d.checksumErrors,
      detail: { ...d },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#backoff.cancel();
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    for (const u of this.#unsubscribe.splice(0)) u();
    await this.#link?.close();
    this.#link = undefined;
  }

  #event(e: GnssSourceEvent): void {
    this.#listeners.emitEvent(e);
  }

  #armIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.#decoder.flushEpoch(), this.#idleMs);
    this.#idleTimer.unref();
  }

  #onClose(info: { disconnected: boolean; error?: Error }): void {
    for (const u of this.#unsubscribe.splice(0)) u();
    this.#link = undefined;
    if (this.#closed) return;
    this.#disconnects++;
    this.#decoder.flushEpoch();
    this.#event({
      type: 'down',
      where: this.#options.path,
      reason: info.error?.message ?? (info.disconnected ? 'device disconnected' : 'port closed'),
    });
    this.#retry();
  }

  /** @internal After a failed first open: reports it (once listeners can hear it) and keeps trying. */
  retryLater(reason: string): void {
    const nextInMs = this.#retry();
    setImmediate(() => this.#event({ type: 'retry-failed', where: this.#options.path, reason, nextInMs }));
  }

  /** Schedules a reopen; returns the wait in ms. */
  #retry(): number {
    return this.#backoff.schedule(() => {
      this.open().catch((err: unknown) => {
        if (this.#closed) return;
        const nextInMs = this.#retry();
        this.#event({
          type: 'retry-failed',
          where: this.#options.path,
          reason: (err as Error).message,
          nextInMs,
        });
      });
    });
  }
}

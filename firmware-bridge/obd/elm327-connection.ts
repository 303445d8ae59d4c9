/**
 * `Elm327Connection`: an ELM327 that stays usable while its adapter is unplugged and plugged back.
 * It opens the port, initialises the chip, and when the link ends with `disconnected` (the USB
 * device or Bluetooth rfcomm went away, the pty's other side closed) it reports the event, fails
 * the requests in flight with DISCONNECTED and reopens with exponential backoff until the port is
 * back. A port that cannot be opened is retried the same way, so a device that boots before its
 * dongle is plugged in never crash-loops. Events, never exceptions, tell the owner what happened.
 */
import type { OpenSerial } from '../serial/serial-link.js';
import { Elm327, type Elm327Info, type Elm327Stats, type Elm327Timeouts } from './elm327.js';
import { ObdError } from './obd-error.js';
import type { ObdRequestOptions, ObdResponse, ObdTransport } from './transport.js';

/** What happened to the adapter. */
export type ObdLinkEvent =
  | { readonly type: 'connected'; readonly path: string; readonly info: Elm327Info; readonly attempt: number }
  | { readonly type: 'disconnected'; readonly path: string; readonly reason: string }
  | {
      readonly type: 'retry';
      readonly path: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: string;
    };

export interface Elm327ConnectionOptions {
  readonly open: OpenSerial;
  readonly path: string;
  readonly baudRate: number;
  readonly timeouts?: Elm327Timeouts;
  /** First reopen delay, ms (default 500); doubles per failed attempt. */
  readonly retryInitialMs?: number;
  /** Longest reopen delay, ms (default 10000). */
  readonly retryMaxMs?: number;
  readonly onEvent?: (event: ObdLinkEvent) => void;
}

/** A self-reopening ELM327 transport. */
export class Elm327Connection implements ObdTransport {
  readonly kind = 'elm327' as const;
  readonly #o: Elm327ConnectionOptions;
  #elm: Elm327 | undefined;
  #info: Elm327Info | undefined;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #connects = 0;
  #firstConnect: Promise<Elm327Info> | undefined;
  #resolveFirst: ((info: Elm327Info) => void) | undefined;

  constructor(options: Elm327ConnectionOptions) {
    this.#o = options;
  }

  /**
   * Starts connecting (idempotent). The promise resolves on the first successful initialisation,
   * however many retries that takes; it never rejects, so the caller may ignore it.
   */
  start(): Promise<Elm327Info> {
    if (!this.#firstConnect) {
      this.#firstConnect = new Promise((resolve) => {
        this.#resolveFirst = resolve;
      });
      void this.#connect();
    }
    return this.#firstConnect;
  }

  /** The chip's answers to initialisation, while connected. */
  get info(): Elm327Info | undefined {
    return this.#elm ? this.#info : undefined;
  }

  /** True while an initialised adapter is attached. */
  get connected(): boolean {
    return this.#elm !== undefined;
  }

  /** How many times the adapter has been (re)connected. */
  get connects(): number {
    return this.#connects;
  }

  /** The driver's counters while connected. */
  get stats(): Readonly<Elm327Stats> | undefined {
    return this.#elm?.stats;
  }

  /** The current driver, for ELM-only commands (ATRV); undefined while disconnected. */
  get elm(): Elm327 | undefined {
    return this.#elm;
  }

  request(request: Uint8Array, options?: ObdRequestOptions): Promise<ObdResponse[]> {
    const elm = this.#elm;
    if (this.#stopped) return Promise.reject(new ObdError('CLOSED', `${this.#o.path}: connection closed`));
    if (!elm) return Promise.reject(new ObdError('DISCONNECTED', `${this.#o.path}: adapter not connected`));
    return elm.request(request, options);
  }

  async close(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    const elm = this.#elm;
    this.#elm = undefined;
    await elm?.close();
    await this.#link?.close();
  }

  #link: Awaited<ReturnType<OpenSerial>> | undefined;

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.#attempt++;
    let link: Awaited<ReturnType<OpenSerial>> | undefined;
    try {
      link = await this.#o.open({ path: this.#o.path, baudRate: this.#o.baudRate });
      if (this.#stopped) {
        await link.close();
        return;
      }
      this.#link = link;
      const elm = new Elm327({ link, ...(this.#o.timeouts ? { timeouts: this.#o.timeouts } : {}) });
      const opened = link;
      link.onClose(({ disconnected, error }) => {
        if (this.#link !== opened) return;
        this.#elm = undefined;
        this.#link = undefined;
        if (this.#stopped) return;
        this.#o.onEvent?.({
          type: 'disconnected',
          path: this.#o.path,
          reason: disconnected ? (error?.message ?? 'device went away') : 'port closed',
        });
        this.#schedule('port closed');
      });
      const info = await elm.initialise();
      if (this.#stopped || this.#link !== opened) return;
      this.#elm = elm;
      this.#info = info;
      this.#connects++;
      this.#o.onEvent?.({ type: 'connected', path: this.#o.path, info, attempt: this.#attempt });
      this.#attempt = 0;
      this.#resolveFirst?.(info);
    } catch (e) {
      if (this.#stopped) return;
      const msg = (e as Error).message;
      if (link && this.#link === link) {
        // Initialisation failed on an open port (a chip that does not answer): close and retry.
        this.#link = undefined;
        await link.close().catch(() => {});
      }
      this.#schedule(msg);
    }
  }

  #schedule(error: string): void {
    if (this.#stopped || this.#timer) return;
    const initial = this.#o.retryInitialMs ?? 500;
    const max = this.#o.retryMaxMs ?? 10_000;
    const delayMs = Math.min(max, initial * 2 ** Math.max(0, this.#attempt - 1));
    this.#o.onEvent?.({ type: 'retry', path: this.#o.path, attempt: this.#attempt + 1, delayMs, error });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#connect();
    }, delayMs);
  }
}

/**
 * `Elm327Device`: the emulated chip on a serial link (one end of a pseudo-terminal pair in tests
 * and in `qood obd emulate`). It splits the host's bytes into command lines at CR, runs them through
 * `Elm327Emulator`, and sends the answers paced at the configured baud rate: a pseudo-terminal
 * moves bytes as fast as the host copies them, so without pacing a benchmark would measure memcpy,
 * not a serial line. Each byte costs 10 bit times (8N1) in both directions. Faults can be injected
 * while it runs: NO DATA to every OBD request, slow replies (bytes from the host during the wait
 * interrupt with STOPPED, as on the chip), garbage before replies, replies cut mid-line, scripted
 * raw replies, and a disconnect.
 */
import type { SerialLink } from '../../firmware-bridge/index.js';
import type { Elm327Emulator } from './elm327-emulator.js';

/** Faults to inject; change the fields while the device runs. */
export interface EmulatorFaults {
  /** Answer every OBD request with NO DATA. */
  noData?: boolean;
  /** Extra delay before each OBD answer, ms. */
  slowMs?: number;
  /** Send these bytes before each OBD answer (line noise, a clone's stray NULs). */
  garbage?: string;
  /** Cut each OBD answer after this many characters, then send a prompt (a reply lost mid-line). */
  truncateAt?: number;
  /** Raw replies (without prompt) used, in order, for the next OBD requests instead of the car's. */
  scripted?: string[];
}

export interface Elm327DeviceOptions {
  readonly link: SerialLink;
  readonly emulator: Elm327Emulator;
  /** Pace both directions at this line rate (10 bits per byte); undefined = no pacing. */
  readonly baudRate?: number;
  /** Bus time of an OBD request (request frame, ECU processing, reply frames), ms (default 0). */
  readonly obdLatencyMs?: number;
  /** Extra time a protocol search takes, ms (default 0; a real chip takes 1-5 s). */
  readonly searchMs?: number;
  readonly faults?: EmulatorFaults;
}

/** Counters of what the device did. */
export interface Elm327DeviceStats {
  commands: number;
  obdRequests: number;
  bytesIn: number;
  bytesOut: number;
  interrupted: number;
}

/** The emulator attached to a link. */
export class Elm327Device {
  readonly faults: EmulatorFaults;
  readonly stats: Elm327DeviceStats = {
    commands: 0,
    obdRequests: 0,
    bytesIn: 0,
    bytesOut: 0,
    interrupted: 0,
  };
  readonly #o: Elm327DeviceOptions;
  readonly #offs: (() => void)[] = [];
  #input = '';
  #lines: string[] = [];
  #busy = false;
  /** Resolves the wait of an OBD request in progress early, when the host sends a byte. */
  #interrupt: (() => void) | undefined;
  #lineFreeAt = 0;
  #closed = false;

  constructor(options: Elm327DeviceOptions) {
    this.#o = options;
    this.faults = options.faults ?? {};
    this.#offs.push(options.link.onData((c) => this.#onData(c)));
    this.#offs.push(options.link.onClose(() => this.#stop()));
  }

  get link(): SerialLink {
    return this.#o.link;
  }

  /** Closes the link as an unplugged adapter would vanish. */
  async disconnect(): Promise<void> {
    this.#stop();
    await this.#o.link.close();
  }

  #stop(): void {
    this.#closed = true;
    for (const off of this.#offs.splice(0)) off();
    this.#interrupt?.();
  }

  #onData(chunk: Uint8Array): void {
    this.stats.bytesIn += chunk.length;
    if (this.#interrupt) {
      // A byte during an OBD request stops it (the chip prints STOPPED); the byte is consumed.
      this.stats.interrupted++;
      const stop = this.#interrupt;
      this.#interrupt = undefined;
      stop();
      return;
    }
    this.#input += Buffer.from(chunk).toString('latin1');
    let at = this.#input.indexOf('\r');
    while (at >= 0) {
      this.#lines.push(this.#input.slice(0, at).replace(/\n/g, ''));
      this.#input = this.#input.slice(at + 1);
      at = this.#input.indexOf('\r');
    }
    if (!this.#busy) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#lines.length > 0 && !this.#closed) await this.#handle(this.#lines.shift()!);
    } finally {
      this.#busy = false;
    }
  }

  async #handle(line: string): Promise<void> {
    this.stats.commands++;
    // The chip cannot act on a command before its last byte has crossed the line; the time is
    // booked now and slept together with the reply's (one timer, so less oversleep).
    await this.#pace(line.length + 1, false);
    const reply = this.#o.emulator.execute(line);
    if (!reply.obd) {
      await this.#send(reply.text);
      return;
    }
    this.stats.obdRequests++;
    const f = this.faults;
    const wait =
      (this.#o.obdLatencyMs ?? 0) + (f.slowMs ?? 0) + (reply.searched ? (this.#o.searchMs ?? 0) : 0);
    if (wait > 0) {
      const interrupted = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => {
          this.#interrupt = undefined;
          resolve(false);
        }, wait);
        this.#interrupt = () => {
          clearTimeout(t);
          resolve(true);
        };
      });
      if (this.#closed) return;
      if (interrupted) {
        await this.#send(this.#prompted('STOPPED'));
        return;
      }
    }
    let text = reply.text;
    const echoEnd = this.#o.emulator.settings.echo ? line.length + 1 : 0;
    const scripted = f.scripted?.shift();
    if (scripted !== undefined) text = text.slice(0, echoEnd) + this.#prompted(scripted);
    else if (f.noData) text = text.slice(0, echoEnd) + this.#prompted('NO DATA');
    if (f.truncateAt !== undefined) text = `${text.slice(0, echoEnd + f.truncateAt)}\r\r>`;
    if (f.garbage) text = f.garbage + text;
    await this.#send(text);
  }

  /** `text` as the chip ends a reply. */
  #prompted(text: string): string {
    const eol = this.#o.emulator.settings.linefeeds ? '\r\n' : '\r';
    return `${text.split(/\r\n?|\n/).join(eol)}${eol}${eol}>`;
  }

  /** Waits until `bytes` more bytes could have crossed the line. */
  async #pace(bytes: number, sleep = true): Promise<void> {
    const baud = this.#o.baudRate;
    if (baud === undefined) return;
    const now = performance.now();
    this.#lineFreeAt = Math.max(now, this.#lineFreeAt) + (bytes * 10 * 1000) / baud;
    if (!sleep) return;
    const wait = this.#lineFreeAt - performance.now();
    // setTimeout cannot sleep below ~1 ms: smaller debts are carried to the next chunk.
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
  }

  async #send(text: string): Promise<void> {
    const CHUNK = 32;
    for (let i = 0; i < text.length && !this.#closed; i += CHUNK) {
      const part = text.slice(i, i + CHUNK);
      await this.#pace(part.length);
      this.stats.bytesOut += part.length;
      await this.#o.link.write(part).catch(() => {});
    }
  }
}

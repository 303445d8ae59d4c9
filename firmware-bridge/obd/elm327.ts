/**
 * The ELM327 driver on one open `SerialLink`: a queue that sends one command at a time and frames
 * the answer by the `>` prompt, with a timeout per command; the initialisation that works on
 * genuine v1.5 chips and the common v2.1 clones; and J1979 requests as an `ObdTransport`. Bytes that
 * arrive outside a command, replies cut short and lines of no known format are counted, never
 * thrown. Reopening an unplugged adapter is `Elm327Connection`'s job; this class lives as long as
 * its link.
 */
import type { SerialLink } from '../serial/serial-link.js';
import {
  type ElmFormat,
  type ElmReply,
  type ProtocolFamily,
  parseReply,
  protocolFamily,
  replyLines,
  statusCode,
} from './elm-reply.js';
import { ObdError, type ObdErrorCode } from './obd-error.js';
import type { ObdRequestOptions, ObdResponse, ObdTransport } from './transport.js';

/** Command timeouts in ms. */
export interface Elm327Timeouts {
  /** AT commands (default 1000). */
  readonly atMs?: number;
  /** ATZ, which reboots the chip (default 3000). */
  readonly resetMs?: number;
  /** OBD requests once a protocol is known (default 3000). */
  readonly obdMs?: number;
  /** The first request after ATSP0, which runs the protocol search (default 20000). */
  readonly searchMs?: number;
}

export interface Elm327Options {
  readonly link: SerialLink;
  readonly timeouts?: Elm327Timeouts;
  /** Monotonic milliseconds, for round-trip times (default performance.now). */
  readonly nowMs?: () => number;
}

/** What `initialise` learnt about the adapter and the car. */
export interface Elm327Info {
  /** `ELM327 v1.5` (ATI). */
  readonly version: string;
  /** AT@1 device description; undefined when the chip answers `?` (many clones). */
  readonly device: string | undefined;
  /** `ISO 15765-4 (CAN 11/500)` (ATDP), without the `AUTO, ` prefix. */
  readonly protocol: string | undefined;
  /** ATDPN, e.g. `A6` (auto, found 6). */
  readonly protocolNumber: string | undefined;
  /** Result of the first request: `ok`, or why the car did not answer (UNABLE_TO_CONNECT with ignition off). */
  readonly vehicle: 'ok' | ObdErrorCode;
  /** Init commands the chip rejected with `?` (old clones lack ATAT1 or ATS0). */
  readonly unsupported: readonly string[];
}

/** Counters of what the driver saw. */
export interface Elm327Stats {
  commands: number;
  timeouts: number;
  /** Bytes received while no command was waiting (noise, a late reply after a timeout). */
  strayBytes: number;
  /** Reply lines of no known format. */
  badLines: number;
  /** Messages that answer another request than the one sent (a chatty ECU). */
  unrelated: number;
  /** Error replies by code. */
  errors: Partial<Record<ObdErrorCode, number>>;
  /** Smoothed round-trip time of OBD requests, ms (0 until the first). */
  rttMs: number;
}

interface Pending {
  readonly command: string;
  readonly timeoutMs: number;
  readonly resolve: (raw: string) => void;
  readonly reject: (e: ObdError) => void;
}

/** After a timeout, how long the line must stay quiet before the next command is sent, ms. */
const DRAIN_QUIET_MS = 200;

const REQUIRED_OK = ['ATE0', 'ATL0', 'ATH1'] as const;
const OPTIONAL_OK = ['ATS0', 'ATAT1', 'ATSP0'] as const;

/** An ELM327 (or compatible) on an open link. */
export class Elm327 implements ObdTransport {
  readonly kind = 'elm327' as const;
  readonly stats: Elm327Stats = {
    commands: 0,
    timeouts: 0,
    strayBytes: 0,
    badLines: 0,
    unrelated: 0,
    errors: {},
    rttMs: 0,
  };
  readonly #link: SerialLink;
  readonly #t: Required<Elm327Timeouts>;
  readonly #now: () => number;
  readonly #queue: Pending[] = [];
  readonly #offs: (() => void)[] = [];
  #current: { p: Pending; buf: string; timer: NodeJS.Timeout } | undefined;
  #format: { family: ProtocolFamily | undefined; headers: boolean } = { family: undefined, headers: true };
  #searched = false;
  #closed: ObdError | undefined;
  #lastBad: ElmReply['bad'] = [];
  #draining: NodeJS.Timeout | undefined;

  constructor(options: Elm327Options) {
    this.#link = options.link;
    this.#t = {
      atMs: options.timeouts?.atMs ?? 1000,
      resetMs: options.timeouts?.resetMs ?? 3000,
      obdMs: options.timeouts?.obdMs ?? 3000,
      searchMs: options.timeouts?.searchMs ?? 20_000,
    };
    this.#now = options.nowMs ?? (() => performance.now());
    this.#offs.push(this.#link.onData((c) => this.#onData(c)));
    this.#offs.push(
      this.#link.onClose(({ disconnected }) =>
        this.#shutdown(
          new ObdError(
            disconnected ? 'DISCONNECTED' : 'CLOSED',
            `${this.#link.path}: ${disconnected ? 'adapter disconnected' : 'port closed'}`,
          ),
        ),
      ),
    );
  }

  /** The reply format in use (protocol family from ATDPN, headers on after init). */
  get format(): ElmFormat {
    return this.#format;
  }

  /** The bad lines of the last reply that had any (for logs). */
  get lastBadLines(): ElmReply['bad'] {
    return this.#lastBad;
  }

  /**
   * Sends one command (`ATI`, `010C`) and resolves with the raw text before the prompt. Rejects
   * with TIMEOUT when no prompt arrives in `timeoutMs`, DISCONNECTED/CLOSED when the link ends.
   */
  command(command: string, timeoutMs = this.#t.atMs): Promise<string> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise<string>((resolve, reject) => {
      this.#queue.push({ command, timeoutMs, resolve, reject });
      if (!this.#current && !this.#draining) this.#next();
    });
  }

  /** Sends an AT command and returns its reply lines (echo removed); `?` rejects with UNKNOWN_COMMAND. */
  async at(command: string, timeoutMs = this.#t.atMs): Promise<string[]> {
    const lines = replyLines(await this.command(command, timeoutMs), command);
    if (lines.some((l) => statusCode(l) === 'UNKNOWN_COMMAND'))
      throw new ObdError('UNKNOWN_COMMAND', `${this.#link.path}: ${command} rejected with '?'`, command, '?');
    return lines;
  }

  /**
   * Resets and configures the chip: ATZ, ATE0 (a real chip echoes this one command itself), ATL0,
   * ATS0, ATH1, ATAT1, ATSP0, then AT@1 and ATI, a first 0100 to run the protocol search, and
   * ATDPN/ATDP to read the protocol found. Rejects only when the chip itself does not answer.
   */
  async initialise(): Promise<Elm327Info> {
    let reset: string;
    try {
      reset = await this.command('ATZ', this.#t.resetMs);
    } catch (e) {
      // A chip that was busy (a search, a monitor) prints STOPPED first; try once more.
      if ((e as ObdError).code !== 'TIMEOUT') throw e;
      reset = await this.command('ATZ', this.#t.resetMs);
    }
    const unsupported: string[] = [];
    for (const cmd of [...REQUIRED_OK, ...OPTIONAL_OK]) {
      try {
        await this.at(cmd);
      } catch (e) {
        if ((e as ObdError).code !== 'UNKNOWN_COMMAND' || (REQUIRED_OK as readonly string[]).includes(cmd))
          throw e;
        unsupported.push(cmd);
      }
    }
    this.#format = { family: undefined, headers: true };
    this.#searched = false;
    let device: string | undefined;
    try {
      device = (await this.at('AT@1')).join(' ') || undefined;
    } catch (e) {
      if ((e as ObdError).code !== 'UNKNOWN_COMMAND') throw e;
      unsupported.push('AT@1');
    }
    const ati = (await this.at('ATI')).join(' ');
    const version =
      /ELM327\s*v?[\d.]+\w*/i.exec(ati)?.[0] ?? (ati || (/ELM327[^\r]*/.exec(reset)?.[0] ?? ''));
    let vehicle: Elm327Info['vehicle'] = 'ok';
    try {
      await this.request(Uint8Array.of(0x01, 0x00));
    } catch (e) {
      if (!(e instanceof ObdError) || e.code === 'DISCONNECTED' || e.code === 'CLOSED') throw e;
      vehicle = e.code;
    }
    const { protocol, protocolNumber } = await this.readProtocol();
    return { version, device, protocol, protocolNumber, vehicle, unsupported };
  }

  /** ATDPN and ATDP: the protocol the chip uses now; sets the reply format from it. */
  async readProtocol(): Promise<{ protocol: string | undefined; protocolNumber: string | undefined }> {
    const dpn = (await this.at('ATDPN'))[0]?.trim().toUpperCase();
    const dp = (await this.at('ATDP'))[0]?.replace(/^AUTO,?\s*/i, '').trim();
    const family = dpn === undefined ? undefined : protocolFamily(dpn);
    this.#format = { ...this.#format, family };
    const known = family !== undefined;
    return { protocol: known ? dp : undefined, protocolNumber: dpn };
  }

  /** Battery (supply) voltage at the OBD connector's pin 16 (ATRV, `12.6V`). */
  async batteryVoltage(): Promise<number> {
    const line = (await this.at('ATRV'))[0] ?? '';
    const m = /^(\d+(?:\.\d+)?)\s*V$/i.exec(line.trim());
    if (!m)
      throw new ObdError('BAD_REPLY', `ATRV: expected a voltage such as 12.6V, got '${line}'`, 'ATRV', line);
    return Number(m[1]);
  }

  async request(request: Uint8Array, options: ObdRequestOptions = {}): Promise<ObdResponse[]> {
    const hex = Buffer.from(request).toString('hex').toUpperCase();
    const count = options.expectedReplies;
    const command =
      count !== undefined && count >= 1 && count <= 15 ? `${hex}${count.toString(16).toUpperCase()}` : hex;
    const timeoutMs = options.timeoutMs ?? (this.#searched ? this.#t.obdMs : this.#t.searchMs);
    const t0 = this.#now();
    const raw = await this.command(command, timeoutMs);
    const rtt = this.#now() - t0;
    const reply = parseReply(raw, command, this.#format);
    if (reply.info.some((l) => /^SEARCHING/i.test(l)) || reply.messages.length > 0) this.#searched = true;
    this.stats.rttMs = this.stats.rttMs === 0 ? rtt : this.stats.rttMs * 0.8 + rtt * 0.2;
    if (reply.bad.length > 0) {
      this.stats.badLines += reply.bad.length;
      this.#lastBad = reply.bad;
    }
    for (const e of reply.errors) this.stats.errors[e.code] = (this.stats.errors[e.code] ?? 0) + 1;
    const wantService = request[0]! + 0x40;
    const positive: ObdResponse[] = [];
    const negative: ObdResponse[] = [];
    for (const m of reply.messages) {
      const r = { ecu: m.ecu ?? '?', data: m.data };
      if (m.data[0] === 0x7f && m.data[1] === request[0]) negative.push(r);
      else if (
        m.data[0] === wantService &&
        (request.length < 2 || !hasPid(request[0]!) || m.data[1] === request[1])
      )
        positive.push(r);
      else this.stats.unrelated++;
    }
    if (positive.length > 0) return positive;
    const text = reply.lines.join(' | ');
    if (negative.length > 0) {
      const nrc = negative[0]!.data[2] ?? 0;
      throw new ObdError(
        'NEGATIVE_RESPONSE',
        `${command}: ECU ${negative[0]!.ecu} refused with NRC 0x${nrc.toString(16)}`,
        command,
        text,
      );
    }
    const err = reply.errors[0];
    if (err) throw new ObdError(err.code, `${command}: adapter replied '${err.text}'`, command, text);
    if (reply.bad.length > 0) {
      const b = reply.bad[0]!;
      throw new ObdError(
        'BAD_REPLY',
        `${command}: line ${b.line} offset ${b.offset} '${b.text}': expected ${b.expected}`,
        command,
        text,
      );
    }
    throw new ObdError('NO_DATA', `${command}: no answer to this request`, command, text);
  }

  /** Rejects everything queued and detaches from the link (the link's owner closes it). */
  async close(): Promise<void> {
    this.#shutdown(new ObdError('CLOSED', `${this.#link.path}: driver closed`));
  }

  #shutdown(err: ObdError): void {
    if (this.#closed) return;
    this.#closed = err;
    for (const off of this.#offs.splice(0)) off();
    if (this.#draining) clearTimeout(this.#draining);
    if (this.#current) {
      clearTimeout(this.#current.timer);
      this.#current.p.reject(err);
      this.#current = undefined;
    }
    for (const p of this.#queue.splice(0)) p.reject(err);
  }

  #next(): void {
    const p = this.#queue.shift();
    if (!p) return;
    this.stats.commands++;
    const timer = setTimeout(() => this.#timeout(), p.timeoutMs);
    this.#current = { p, buf: '', timer };
    this.#link.write(`${p.command}\r`).catch((e: Error) => {
      if (this.#current?.p !== p) return;
      clearTimeout(timer);
      this.#current = undefined;
      p.reject(new ObdError('DISCONNECTED', `${this.#link.path}: write failed: ${e.message}`, p.command));
      this.#next();
    });
  }

  #timeout(): void {
    const cur = this.#current;
    if (!cur) return;
    this.stats.timeouts++;
    this.#current = undefined;
    cur.p.reject(
      new ObdError(
        'TIMEOUT',
        `${this.#link.path}: no prompt within ${cur.p.timeoutMs} ms for ${cur.p.command}`,
        cur.p.command,
        cur.buf,
      ),
    );
    // A chip still working (a long search, a slow ECU) is stopped by any byte; a space is the one
    // byte that is harmless when it is idle, since the chip ignores spaces in commands. Its late
    // answer (or STOPPED) must not be taken for the next command's: wait for its prompt, or for
    // the line to stay quiet, before sending more.
    this.#link.write(' ').catch(() => {});
    this.#drain();
  }

  #drain(): void {
    if (this.#draining) clearTimeout(this.#draining);
    this.#draining = setTimeout(() => {
      this.#draining = undefined;
      if (!this.#closed) this.#next();
    }, DRAIN_QUIET_MS);
  }

  #onData(chunk: Uint8Array): void {
    const text = Buffer.from(chunk).toString('latin1');
    const cur = this.#current;
    if (!cur) {
      this.stats.strayBytes += chunk.length;
      if (this.#draining) {
        if (text.includes('>')) {
          clearTimeout(this.#draining);
          this.#draining = undefined;
          this.#next();
        } else this.#drain();
      }
      return;
    }
    cur.buf += text;
    const at = cur.buf.indexOf('>');
    if (at < 0) return;
    // Anything after the prompt arrived unasked for.
    this.stats.strayBytes += cur.buf.length - at - 1;
    clearTimeout(cur.timer);
    this.#current = undefined;
    cur.p.resolve(cur.buf.slice(0, at));
    this.#next();
  }
}

/** Services whose second request byte is a PID echoed in the response (01, 02, 09). */
function hasPid(service: number): boolean {
  return service === 0x01 || service === 0x02 || service === 0x09;
}

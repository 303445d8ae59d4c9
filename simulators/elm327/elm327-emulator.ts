/**
 * The ELM327 command interpreter, as a reference v1.5 chip answers (the conformance pairs in
 * ../shared/data/obd/elm327_conformance_pairs.json are its specification): AT commands (Z, I, @1,
 * E, L, S, H, AT, SP/SPA, TP, DP, DPN, RV, PC, D, WS, and the harmless M/CAF/SH/CRA/ST/V family),
 * the protocol search, and OBD requests answered by emulated ECUs on the emulated car's bus, printed
 * in the chip's formats (headers, spaces, CAN 11/29-bit, legacy KWP with checksum, multi-frame).
 * Pure: `execute(line)` returns the text to send back; timing, faults and the serial port belong to
 * `Elm327Device`.
 */
import type { EcuBusKind, EmulatedEcu } from './ecus.js';

/** What is plugged into the emulated OBD port. */
export interface EmulatedCar {
  /** `none`: nothing answers (ignition off, no car). `kwp`: ISO 14230-4 fast init on the K-line. */
  bus: 'can11' | 'can29' | 'kwp' | 'none';
  /** CAN bit rate in kbit/s (500 or 250). */
  canKbps: 500 | 250;
  ecus: EmulatedEcu[];
  /** Battery voltage ATRV reports. */
  batteryV?: number;
}

const PROTOCOLS: Readonly<Record<string, string>> = {
  '1': 'SAE J1850 PWM',
  '2': 'SAE J1850 VPW',
  '3': 'ISO 9141-2',
  '4': 'ISO 14230-4 (KWP 5BAUD)',
  '5': 'ISO 14230-4 (KWP FAST)',
  '6': 'ISO 15765-4 (CAN 11/500)',
  '7': 'ISO 15765-4 (CAN 29/500)',
  '8': 'ISO 15765-4 (CAN 11/250)',
  '9': 'ISO 15765-4 (CAN 29/250)',
  A: 'SAE J1939 (CAN 29/250)',
  B: 'USER1 CAN (11* /125)',
  C: 'USER2 CAN (11* /50)',
};

/** The answer to one command line. */
export interface EmulatorReply {
  /** Everything to send, echo and prompt included. */
  readonly text: string;
  /** True for an OBD request (it takes bus time; a byte from the host during it interrupts). */
  readonly obd: boolean;
  /** True when the reply began with a protocol search (`SEARCHING...`). */
  readonly searched: boolean;
}

export interface Elm327EmulatorOptions {
  readonly car: EmulatedCar;
  /** Reported by ATI (default `ELM327 v1.5`). */
  readonly version?: string;
  /** Reported by AT@1 (default the genuine chip's text); undefined makes AT@1 answer `?`, as many clones do. */
  readonly deviceDescription?: string | null;
}

/** The chip's settings, reset by ATZ / ATD. */
interface Settings {
  echo: boolean;
  linefeeds: boolean;
  spaces: boolean;
  headers: boolean;
  /** Protocol digit set by ATSP (0 = automatic). */
  protocol: string;
  auto: boolean;
  /** Protocol in use once found (undefined: not searched yet). */
  active: string | undefined;
  kwpInitDone: boolean;
}

const defaults = (): Settings => ({
  echo: true,
  linefeeds: false,
  spaces: true,
  headers: false,
  protocol: '0',
  auto: true,
  active: undefined,
  kwpInitDone: false,
});

/** An ELM327 command interpreter. */
export class Elm327Emulator {
  readonly car: EmulatedCar;
  readonly version: string;
  readonly #device: string | null;
  #s: Settings = defaults();
  #last = '';

  constructor(options: Elm327EmulatorOptions) {
    this.car = options.car;
    this.version = options.version ?? 'ELM327 v1.5';
    this.#device =
      options.deviceDescription === undefined ? 'OBDII to RS232 Interpreter' : options.deviceDescription;
  }

  /** Current settings (tests and the device read them). */
  get settings(): Readonly<Settings> {
    return this.#s;
  }

  /** Executes one line as received (without its CR). An empty line repeats the last command. */
  execute(rawLine: string): EmulatorReply {
    const echo = this.#s.echo ? `${rawLine}${this.#eol()}` : '';
    let cmd = rawLine.replace(/\s+/g, '').toUpperCase();
    if (cmd === '') cmd = this.#last;
    else this.#last = cmd;
    if (cmd.startsWith('AT')) return { text: echo + this.#at(cmd.slice(2)), obd: false, searched: false };
    return this.#obd(cmd, echo);
  }

  #eol(): string {
    return this.#s.linefeeds ? '\r\n' : '\r';
  }

  /** Lines, each ended, then an empty line and the prompt. */
  #reply(...lines: string[]): string {
    const eol = this.#eol();
    return `${lines.map((l) => l + eol).join('')}${eol}>`;
  }

  #at(c: string): string {
    const ok = () => this.#reply('OK');
    if (c === 'Z' || c === 'WS') {
      this.#s = defaults();
      return `\r\r${this.version}\r\r>`;
    }
    if (c === 'D') {
      const echo = this.#s.echo;
      this.#s = { ...defaults(), echo };
      return ok();
    }
    if (c === 'I') return this.#reply(this.version);
    if (c === '@1') return this.#device === null ? this.#reply('?') : this.#reply(this.#device);
    const flag = /^([ELSH])([01])$/.exec(c);
    if (flag) {
      const m = flag;
      const on = m[2] === '1';
      if (m[1] === 'E') this.#s.echo = on;
      if (m[1] === 'L') this.#s.linefeeds = on;
      if (m[1] === 'S') this.#s.spaces = on;
      if (m[1] === 'H') this.#s.headers = on;
      return ok();
    }
    const sp = /^(SP|TP)(A?)([0-9A-C])$/.exec(c);
    if (sp) {
      const m = sp;
      const p = m[3]!;
      this.#s.kwpInitDone = false;
      if (p === '0') {
        this.#s.protocol = '0';
        this.#s.auto = true;
        this.#s.active = undefined;
      } else {
        this.#s.protocol = p;
        this.#s.auto = m[2] === 'A';
        this.#s.active = p;
      }
      return ok();
    }
    if (c === 'DPN') return this.#reply(this.#s.auto ? `A${this.#s.active ?? '0'}` : this.#s.protocol);
    if (c === 'DP') {
      const name = this.#s.active === undefined ? undefined : PROTOCOLS[this.#s.active];
      if (!this.#s.auto) return this.#reply(name ?? 'AUTO');
      return this.#reply(name === undefined ? 'AUTO' : `AUTO, ${name}`);
    }
    if (c === 'RV') return this.#reply(`${(this.car.batteryV ?? 12.6).toFixed(1)}V`);
    if (c === 'PC') {
      this.#s.kwpInitDone = false;
      return ok();
    }
    if (
      /^(AT[012]|M[01]|CAF[01]|CFC[01]|D[01]|V[01]|R[01]|CRA|CRA[0-9A-F]{3,8}|SH[0-9A-F]{3}|SH[0-9A-F]{6}|SH[0-9A-F]{8}|ST[0-9A-F]{2}|CSM[01])$/.test(
        c,
      )
    )
      return ok();
    return this.#reply('?');
  }

  #obd(cmd: string, echo: string): EmulatorReply {
    const done = (text: string, searched = false): EmulatorReply => ({
      text: echo + text,
      obd: true,
      searched,
    });
    if (!/^[0-9A-F]+$/.test(cmd)) return { text: echo + this.#reply('?'), obd: false, searched: false };
    // An odd digit count ends with the response count (ELM327 v1.3+): `010C1` waits for one reply.
    const countDigit = cmd.length % 2 === 1 ? Number.parseInt(cmd.slice(-1), 16) : undefined;
    const hex = countDigit === undefined ? cmd : cmd.slice(0, -1);
    if (hex.length < 2 || hex.length > 14)
      return { text: echo + this.#reply('?'), obd: false, searched: false };
    const request = Uint8Array.from(Buffer.from(hex, 'hex'));
    const prefix: string[] = [];
    let searched = false;
    if (this.#s.active === undefined || (this.#s.auto && !this.#carSpeaks(this.#s.active))) {
      // Protocol search: the chip tries each protocol until the car answers.
      prefix.push('SEARCHING...');
      searched = true;
      const found = this.#carProtocol();
      if (found === undefined) {
        this.#s.active = this.#s.auto && this.#s.protocol !== '0' ? this.#s.protocol : undefined;
        return done(this.#reply(...prefix, 'UNABLE TO CONNECT'), true);
      }
      this.#s.active = found;
      if (found === '5') this.#s.kwpInitDone = true;
    }
    const p = this.#s.active;
    const legacy = Number.parseInt(p, 16) <= 5;
    if (legacy) {
      if (p === '1' || p === '2') return done(this.#reply(...prefix, 'NO DATA'), searched);
      if (!this.#carSpeaks(p))
        return done(this.#reply(...prefix, p === '5' ? 'BUS INIT: ERROR' : 'BUS INIT: ...ERROR'), searched);
      if (!this.#s.kwpInitDone) {
        prefix.push('BUS INIT: OK');
        this.#s.kwpInitDone = true;
      }
    } else {
      const kbps = p === '6' || p === '7' ? 500 : 250;
      if (this.car.bus === 'none' || this.car.bus === 'kwp' || this.car.canKbps !== kbps)
        return done(this.#reply(...prefix, 'CAN ERROR'), searched);
      if (!this.#carSpeaks(p)) return done(this.#reply(...prefix, 'NO DATA'), searched);
    }
    const bus: EcuBusKind = legacy ? 'legacy' : 'can';
    const lines: string[] = [];
    let replies = 0;
    for (const ecu of [...this.car.ecus].sort((a, b) => a.address - b.address)) {
      if (countDigit !== undefined && replies >= countDigit) break;
      const msgs = ecu.respond(request, bus);
      if (msgs.length > 0) replies++;
      for (const m of msgs)
        lines.push(...(legacy ? this.#legacyLines(ecu.address, m) : this.#canLines(p, ecu.address, m)));
    }
    if (lines.length === 0) return done(this.#reply(...prefix, 'NO DATA'), searched);
    return done(this.#reply(...prefix, ...lines), searched);
  }

  /** True when the car answers on protocol `p`. */
  #carSpeaks(p: string): boolean {
    return this.#carProtocol() === p;
  }

  /** The protocol number the car answers on, if any. */
  #carProtocol(): string | undefined {
    const c = this.car;
    if (c.bus === 'kwp') return '5';
    if (c.bus === 'can11') return c.canKbps === 500 ? '6' : '8';
    if (c.bus === 'can29') return c.canKbps === 500 ? '7' : '9';
    return undefined;
  }

  #bytes(bytes: readonly number[]): string {
    const hex = bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0'));
    return this.#s.spaces ? hex.map((h) => `${h} `).join('') : hex.join('');
  }

  #legacyLines(address: number, m: Uint8Array): string[] {
    if (!this.#s.headers) return [this.#bytes([...m])];
    const framed = [0x80 | m.length, 0xf1, address & 0xff, ...m];
    const sum = framed.reduce((a, b) => (a + b) & 0xff, 0);
    return [this.#bytes([...framed, sum])];
  }

  #canLines(p: string, address: number, m: Uint8Array): string[] {
    const wide = p === '7' || p === '9' || p === 'A';
    const sp = this.#s.spaces ? ' ' : '';
    const header = wide
      ? this.#s.spaces
        ? `${this.#bytes([(address >>> 24) & 0xff, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff])}`
        : `${address.toString(16).toUpperCase().padStart(8, '0')}`
      : `${address.toString(16).toUpperCase().padStart(3, '0')}${sp}`;
    const data = [...m];
    if (data.length <= 7) {
      if (!this.#s.headers) return [this.#bytes(data)];
      return [header + this.#bytes([data.length, ...data])];
    }
    const out: string[] = [];
    if (!this.#s.headers) {
      out.push(`${data.length.toString(16).toUpperCase().padStart(3, '0')}${sp}`);
      out.push(`0:${sp}${this.#bytes(data.slice(0, 6))}`);
      for (let i = 6, n = 1; i < data.length; i += 7, n++)
        out.push(`${(n & 0xf).toString(16).toUpperCase()}:${sp}${this.#bytes(data.slice(i, i + 7))}`);
      return out;
    }
    out.push(header + this.#bytes([0x10 | (data.length >> 8), data.length & 0xff, ...data.slice(0, 6)]));
    for (let i = 6, n = 1; i < data.length; i += 7, n++)
      out.push(header + this.#bytes([0x20 | (n & 0xf), ...data.slice(i, i + 7)]));
    return out;
  }
}

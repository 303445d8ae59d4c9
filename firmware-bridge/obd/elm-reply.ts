/**
 * Parsing what an ELM327 prints between a command and its `>` prompt: echo removal, the status
 * lines (`SEARCHING...`, `BUS INIT: OK`), the error replies (`NO DATA`, `?`, `CAN ERROR`, `BUS INIT:
 * ...ERROR`, `UNABLE TO CONNECT`, `STOPPED`, `BUFFER FULL`, `<DATA ERROR` ...) and the data lines in
 * every format the chip uses: headers on or off, spaces on or off, CAN 11-bit (`7E8 03 41 0D 53`),
 * CAN 29-bit (`18DAF11003410D53`), legacy J1850/ISO 9141/KWP (`86 F1 10 41 00 ... C3`, last byte a
 * checksum) and ISO 15765 multi-frame, either as the headers-off `014` / `0: ...` / `1: ...` lines
 * or as raw first and consecutive frames that are reassembled per ECU. Nothing here throws: lines
 * that fit no format are returned in `bad` with their position and what was expected.
 * (ELM327 data sheet, "OBD Commands", "Multiline Responses", "Message Formats", "Error Messages".)
 */
import type { ObdErrorCode } from './obd-error.js';

/** How the adapter frames data lines, from its protocol number and the ATH setting. */
export type ProtocolFamily = 'can11' | 'can29' | 'legacy';

/** What the parser needs to know to split a header from data. */
export interface ElmFormat {
  /** undefined while the protocol is not known yet (the first request after ATSP0): guessed per line. */
  readonly family: ProtocolFamily | undefined;
  readonly headers: boolean;
}

/** The protocol family of an ELM327 protocol number (`ATDPN` without the `A`): 1-5 legacy, 6-C CAN. */
export function protocolFamily(protocolNumber: string): ProtocolFamily | undefined {
  const n = Number.parseInt(protocolNumber.replace(/^A/i, ''), 16);
  if (!(n >= 1 && n <= 12)) return undefined;
  if (n <= 5) return 'legacy';
  return n === 7 || n === 9 || n === 10 ? 'can29' : 'can11';
}

/** One complete message from one ECU: the J1979 response bytes (service + 0x40, PID, data). */
export interface ElmMessage {
  /** The replying ECU as printed in the header (`7E8`, `18DAF110`, or the legacy source byte `10`); undefined with headers off. */
  readonly ecu: string | undefined;
  readonly data: Uint8Array;
}

/** A line that fit no expected format. */
export interface BadLine {
  /** 1-based line number within the reply. */
  readonly line: number;
  /** 0-based character offset of the first offending character in the line. */
  readonly offset: number;
  readonly text: string;
  readonly expected: string;
}

/** A typed status line. */
export interface ElmStatus {
  readonly code: ObdErrorCode;
  readonly text: string;
}

/** A parsed reply. */
export interface ElmReply {
  /** Non-empty lines after echo removal, in order. */
  readonly lines: readonly string[];
  /** Error status lines (empty when the reply is clean). */
  readonly errors: readonly ElmStatus[];
  /** Progress lines: `SEARCHING...`, `BUS INIT: OK`. */
  readonly info: readonly string[];
  readonly messages: readonly ElmMessage[];
  readonly bad: readonly BadLine[];
}

const ERROR_LINES: readonly [RegExp, ObdErrorCode][] = [
  [/^\?$/, 'UNKNOWN_COMMAND'],
  [/^NO ?DATA$/, 'NO_DATA'],
  [/^CAN ?ERROR$/, 'CAN_ERROR'],
  [/^BUS ?INIT:? ?\.*\s*ERROR$/, 'BUS_INIT_ERROR'],
  [/^UNABLE ?TO ?CONNECT$/, 'UNABLE_TO_CONNECT'],
  [/^STOPPED$/, 'STOPPED'],
  [/^BUFFER ?FULL$/, 'BUFFER_FULL'],
  [/^<?(DATA|RX) ?ERROR$/, 'DATA_ERROR'],
  [/^(BUS ?ERROR|BUS ?BUSY|FB ?ERROR|LV ?RESET|ACT ?ALERT|LP ?ALERT|ERR\d\d)$/, 'ADAPTER_ERROR'],
];

const INFO_LINE = /^(SEARCHING\.*|BUS ?INIT:? ?\.*\s*OK)$/;

/** The error code of a status line, or undefined when it is none. */
export function statusCode(line: string): ObdErrorCode | undefined {
  const t = line.trim().toUpperCase();
  for (const [re, code] of ERROR_LINES) if (re.test(t)) return code;
  return undefined;
}

/**
 * Splits raw reply text (without the prompt) into its non-empty lines, dropping NULs (some clones
 * send them after a reset) and the echo of `command` when the first line repeats it.
 */
export function replyLines(raw: string, command: string | undefined): string[] {
  const lines = raw
    .replace(/\0/g, '')
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (command !== undefined && lines.length > 0) {
    const squash = (s: string) => s.replace(/\s+/g, '').toUpperCase();
    if (squash(lines[0]!) === squash(command) && squash(command) !== '') lines.shift();
  }
  return lines;
}

const HEX_ONLY = /^[0-9A-Fa-f]+$/;

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** First character that is not hex or a space, or -1. */
function firstNonHex(line: string): number {
  for (let i = 0; i < line.length; i++) if (!/[0-9A-Fa-f ]/.test(line[i]!)) return i;
  return -1;
}

interface IsoTpAssembly {
  length: number;
  data: number[];
  nextSn: number;
  line: number;
}

/** Parses one reply (see the module doc). */
export function parseReply(raw: string, command: string | undefined, format: ElmFormat): ElmReply {
  const lines = replyLines(raw, command);
  const errors: ElmStatus[] = [];
  const info: string[] = [];
  const messages: ElmMessage[] = [];
  const bad: BadLine[] = [];
  // Headers-off multi-frame: a 3-digit length line opens a message, `N:` lines fill it.
  let open: { length: number; data: number[]; nextIndex: number; line: number } | undefined;
  // Headers-on CAN: first/consecutive frames reassembled per header.
  const assemblies = new Map<string, IsoTpAssembly>();

  const closeOpen = () => {
    if (!open) return;
    if (open.data.length >= open.length)
      messages.push({ ecu: undefined, data: Uint8Array.from(open.data.slice(0, open.length)) });
    else
      bad.push({
        line: open.line,
        offset: 0,
        text: lines[open.line - 1]!,
        expected: `${open.length} bytes of a multi-frame message, got ${open.data.length}`,
      });
    open = undefined;
  };

  lines.forEach((original, i) => {
    const n = i + 1;
    let line = original;
    const upper = line.toUpperCase();
    const code = statusCode(upper);
    if (code !== undefined) {
      errors.push({ code, text: line });
      return;
    }
    if (INFO_LINE.test(upper)) {
      info.push(line);
      return;
    }
    // A data line the chip flagged: `7E8 03 41 0D 53 <DATA ERROR` (bad checksum, framing).
    const flagged = /<\s*(DATA|RX)\s*ERROR\s*$/i.exec(line);
    if (flagged) {
      errors.push({ code: 'DATA_ERROR', text: line });
      return;
    }
    const frameIndex = /^([0-9A-Fa-f]):\s*(.*)$/.exec(line);
    if (frameIndex && !format.headers) {
      const idx = Number.parseInt(frameIndex[1]!, 16);
      const hex = frameIndex[2]!.replace(/\s+/g, '');
      if (!open || idx !== open.nextIndex || !HEX_ONLY.test(hex) || hex.length % 2 !== 0) {
        bad.push({
          line: n,
          offset: 0,
          text: original,
          expected: open
            ? `frame ${open.nextIndex.toString(16).toUpperCase()}: followed by hex bytes`
            : 'a length line (such as 014) before numbered frames',
        });
        return;
      }
      open.data.push(...hexBytes(hex));
      open.nextIndex = (open.nextIndex + 1) & 0x0f;
      if (open.data.length >= open.length) closeOpen();
      return;
    }
    const badAt = firstNonHex(line);
    if (badAt >= 0) {
      bad.push({
        line: n,
        offset: badAt,
        text: original,
        expected: 'hex bytes, a status line or a frame index',
      });
      return;
    }
    line = line.replace(/\s+/g, '');
    if (!format.headers && /^[0-9A-Fa-f]{3}$/.test(line)) {
      // Length line of a headers-off multi-frame message (`014` = 20 bytes follow).
      closeOpen();
      open = { length: Number.parseInt(line, 16), data: [], nextIndex: 0, line: n };
      return;
    }
    if (!format.headers) {
      if (line.length % 2 !== 0) {
        bad.push({
          line: n,
          offset: line.length - 1,
          text: original,
          expected: 'an even number of hex digits',
        });
        return;
      }
      messages.push({ ecu: undefined, data: hexBytes(line) });
      return;
    }
    const family = format.family ?? guessFamily(line);
    if (family === 'legacy') {
      parseLegacy(line, n, original, messages, bad);
      return;
    }
    const headerLen = family === 'can11' ? 3 : 8;
    const rest = line.slice(headerLen);
    if (line.length < headerLen + 2 || rest.length % 2 !== 0) {
      bad.push({
        line: n,
        offset: Math.min(line.length, headerLen),
        text: original,
        expected: `a ${family === 'can11' ? '3' : '8'}-digit CAN id followed by whole bytes`,
      });
      return;
    }
    const ecu = line.slice(0, headerLen).toUpperCase();
    const bytes = hexBytes(rest);
    feedIsoTp(ecu, bytes, n, original, assemblies, messages, bad);
  });
  closeOpen();
  for (const [ecu, a] of assemblies)
    bad.push({
      line: a.line,
      offset: 0,
      text: lines[a.line - 1]!,
      expected: `${a.length} bytes from ${ecu}, got ${a.data.length} (missing consecutive frames)`,
    });
  return { lines, errors, info, messages, bad };
}

function guessFamily(line: string): ProtocolFamily {
  if (line.length % 2 === 1) return 'can11';
  if (/^18D[AB]/i.test(line)) return 'can29';
  return 'legacy';
}

/** Legacy: 3 header bytes (priority, target, source), data, and a checksum (sum mod 256). */
function parseLegacy(
  line: string,
  n: number,
  original: string,
  messages: ElmMessage[],
  bad: BadLine[],
): void {
  if (line.length % 2 !== 0 || line.length < 10) {
    bad.push({ line: n, offset: 0, text: original, expected: '3 header bytes, data and a checksum byte' });
    return;
  }
  const bytes = hexBytes(line);
  let sum = 0;
  for (let i = 0; i < bytes.length - 1; i++) sum = (sum + bytes[i]!) & 0xff;
  if (sum !== bytes[bytes.length - 1]) {
    bad.push({
      line: n,
      offset: line.length - 2,
      text: original,
      expected: `checksum ${sum.toString(16).toUpperCase().padStart(2, '0')}`,
    });
    return;
  }
  const ecu = bytes[2]!.toString(16).toUpperCase().padStart(2, '0');
  messages.push({ ecu, data: bytes.slice(3, bytes.length - 1) });
}

/** ISO 15765-2 reassembly of frames printed with their PCI byte (headers on). */
function feedIsoTp(
  ecu: string,
  bytes: Uint8Array,
  n: number,
  original: string,
  assemblies: Map<string, IsoTpAssembly>,
  messages: ElmMessage[],
  bad: BadLine[],
): void {
  const pci = bytes[0]! >> 4;
  if (pci === 0) {
    const len = bytes[0]! & 0x0f;
    if (len === 0 || len > bytes.length - 1) {
      bad.push({
        line: n,
        offset: 0,
        text: original,
        expected: `single frame length 1..${bytes.length - 1}`,
      });
      return;
    }
    messages.push({ ecu, data: bytes.slice(1, 1 + len) });
    return;
  }
  if (pci === 1) {
    if (bytes.length < 3) {
      bad.push({ line: n, offset: 0, text: original, expected: 'a first frame with a 12-bit length' });
      return;
    }
    const length = ((bytes[0]! & 0x0f) << 8) | bytes[1]!;
    assemblies.set(ecu, { length, data: [...bytes.slice(2)], nextSn: 1, line: n });
    return;
  }
  if (pci === 2) {
    const a = assemblies.get(ecu);
    const sn = bytes[0]! & 0x0f;
    if (!a || sn !== a.nextSn) {
      bad.push({
        line: n,
        offset: 0,
        text: original,
        expected: a
          ? `consecutive frame ${a.nextSn}`
          : 'a first frame from this ECU before consecutive frames',
      });
      if (a) assemblies.delete(ecu);
      return;
    }
    a.data.push(...bytes.slice(1));
    a.nextSn = (a.nextSn + 1) & 0x0f;
    if (a.data.length >= a.length) {
      messages.push({ ecu, data: Uint8Array.from(a.data.slice(0, a.length)) });
      assemblies.delete(ecu);
    }
    return;
  }
  bad.push({
    line: n,
    offset: 0,
    text: original,
    expected: 'a single, first or consecutive frame (PCI 0, 1 or 2)',
  });
}

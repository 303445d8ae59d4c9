/**
 * Vector ASC (ASCII) logs as CANalyzer/CANoe write them: a header (`date ...`, `base hex|dec
 * timestamps absolute|relative`), then one event per line. Classic frames
 * `<t> <ch> <id>[x] Rx|Tx d <dlc> <bytes>`, remote frames `... r [dlc]`, CAN FD frames
 * `<t> CANFD <ch> Rx|Tx <id>[x] [name] <brs> <esi> <dlc> <len> <bytes> <duration> <bits> <flags> ...`
 * (flags per Vector: 0x0010 remote, 0x1000 EDL/FD, 0x2000 BRS, 0x4000 ESI), error frames, and status
 * and statistic lines that carry no frame.
 */
import type { CanFrame } from '../../firmware-bridge/index.js';
import { FD_DLC_BYTES, type LineResult, safeUs } from './types.js';

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  mär: 2,
  apr: 3,
  may: 4,
  mai: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  okt: 9,
  nov: 10,
  dec: 11,
  dez: 11,
};

/** Reading state carried from the header into the frame lines. */
export interface AscState {
  base: 16 | 10;
  relative: boolean;
  startUs: number;
  lastUs: number;
}

export function newAscState(): AscState {
  return { base: 16, relative: false, startUs: 0, lastUs: 0 };
}

/** Parses the `date` header (English or German day/month names, optional am/pm); 0 when unreadable. */
export function parseAscDate(text: string): number {
  const m = /^\S+\s+(\S+)\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?\s*(am|pm)?\s+(\d{4})/i.exec(
    text,
  );
  if (!m) return 0;
  const month = MONTHS[m[1]!.toLowerCase().slice(0, 3)];
  if (month === undefined) return 0;
  let hour = Number(m[3]);
  if (m[7]?.toLowerCase() === 'pm' && hour < 12) hour += 12;
  if (m[7]?.toLowerCase() === 'am' && hour === 12) hour = 0;
  const ms = Date.UTC(
    Number(m[8]),
    month,
    Number(m[2]),
    hour,
    Number(m[4]),
    Number(m[5]),
    Number((m[6] ?? '0').padEnd(3, '0')),
  );
  return ms * 1000;
}

/** One ASC line. Header lines update `state` and are skipped. */
export function parseAscLine(line: string, state: AscState): LineResult {
  const t = line.trim();
  if (t === '' || t.startsWith('//')) return { kind: 'skip' };
  if (/^date\s/i.test(t)) {
    state.startUs = parseAscDate(t.slice(5).trim());
    return { kind: 'skip' };
  }
  if (/^base\s/i.test(t)) {
    state.base = /^base\s+dec/i.test(t) ? 10 : 16;
    state.relative = /timestamps\s+relative/i.test(t);
    return { kind: 'skip' };
  }
  if (/^(internal events|no internal events|begin triggerblock|end triggerblock)/i.test(t))
    return { kind: 'skip' };
  const parts = t.split(/\s+/);
  const time = Number(parts[0]);
  if (!Number.isFinite(time))
    return { kind: 'bad', expected: 'a timestamp in seconds at the start of the line' };
  const wallUs = safeUs(Math.round(time * 1e6) + (state.relative ? state.lastUs : state.startUs));
  if (wallUs === undefined) return { kind: 'bad', expected: 'a timestamp in seconds within 285 years' };
  state.lastUs = wallUs;
  const p1 = parts[1] ?? '';
  if (p1 === 'CANFD') return parseFdLine(parts, wallUs, state);
  if (/^\d+$/.test(p1)) {
    const p2 = parts[2] ?? '';
    if (/^errorframe$/i.test(p2)) return { kind: 'error-frame' };
    if (/^(statistic:|j1939tp|sv:|stop$|start$)/i.test(p2)) return { kind: 'skip' };
    return parseClassicLine(parts, p1, wallUs, state);
  }
  // `Start of measurement`, `CAN 1 Status:...`, trigger and log events.
  return { kind: 'skip' };
}

function parseId(text: string, base: 16 | 10): { id: number; extended: boolean } | undefined {
  const extended = /x$/i.test(text);
  const digits = extended ? text.slice(0, -1) : text;
  if (!(base === 16 ? /^[0-9A-Fa-f]+$/ : /^\d+$/).test(digits)) return undefined;
  const id = Number.parseInt(digits, base);
  if (extended ? id > 0x1fffffff : id > 0x7ff) return undefined;
  return { id, extended };
}

function parseClassicLine(parts: string[], channel: string, wallUs: number, state: AscState): LineResult {
  const idt = parseId(parts[2] ?? '', state.base);
  if (!idt) return { kind: 'bad', expected: 'a CAN id (hex, with x for 29-bit) after the channel' };
  const dir = parts[3];
  if (dir !== 'Rx' && dir !== 'Tx') return { kind: 'bad', expected: 'Rx or Tx after the id' };
  const type = parts[4];
  if (type === 'r') {
    const dlc = parts[5] !== undefined && /^[0-9A-Fa-f]$/.test(parts[5]) ? Number.parseInt(parts[5], 16) : 0;
    return {
      kind: 'frame',
      frame: {
        ...idt,
        rtr: true,
        fd: false,
        data: new Uint8Array(0),
        dlc,
        bus: channel,
        wallUs,
        monoUs: wallUs,
      },
    };
  }
  if (type !== 'd') return { kind: 'bad', expected: "'d' (data) or 'r' (remote) after the direction" };
  const dlc = Number.parseInt(parts[5] ?? '', 16);
  // 0..F is a DLC (9..F meaning 8 bytes on classic CAN); some writers put a CAN FD byte length here.
  const fdLength = dlc > 15 && (FD_DLC_BYTES as readonly number[]).includes(dlc);
  if (!((dlc >= 0 && dlc <= 15) || fdLength))
    return { kind: 'bad', expected: 'a DLC 0..F (or a CAN FD length) after d' };
  const len = fdLength ? dlc : Math.min(8, dlc);
  const bytes = parts.slice(6, 6 + len);
  if (bytes.length !== len || !bytes.every((b) => /^[0-9A-Fa-f]{2}$/.test(b)))
    return { kind: 'bad', expected: `${len} data bytes after DLC ${dlc}` };
  const data = Uint8Array.from(bytes.map((b) => Number.parseInt(b, 16)));
  return {
    kind: 'frame',
    frame: { ...idt, rtr: false, fd: fdLength, data, bus: channel, wallUs, monoUs: wallUs },
  };
}

function parseFdLine(parts: string[], wallUs: number, state: AscState): LineResult {
  const channel = parts[2] ?? '';
  if (/^errorframe$/i.test(parts[4] ?? '') || /^errorframe$/i.test(parts[3] ?? ''))
    return { kind: 'error-frame' };
  const idt = parseId(parts[4] ?? '', state.base);
  if (!idt || !/^\d+$/.test(channel)) return { kind: 'bad', expected: 'CANFD <channel> Rx|Tx <id> ...' };
  // An optional symbolic message name sits between the id and the BRS flag.
  let k = 5;
  if (parts[k] !== undefined && !/^[01]$/.test(parts[k]!)) k++;
  const brs = parts[k] === '1';
  const esi = parts[k + 1] === '1';
  const dlc = Number.parseInt(parts[k + 2] ?? '', 16);
  const len = Number(parts[k + 3]);
  if (!(dlc >= 0 && dlc <= 15) || !Number.isInteger(len) || len < 0 || len > 64)
    return { kind: 'bad', expected: 'BRS ESI DLC length after the id of a CANFD line' };
  const bytes = parts.slice(k + 4, k + 4 + len);
  if (bytes.length !== len || !bytes.every((b) => /^[0-9A-Fa-f]{2}$/.test(b)))
    return { kind: 'bad', expected: `${len} data bytes` };
  // After the data: message duration, bit count, then the flags word.
  const flags = Number.parseInt(parts[k + 4 + len + 2] ?? '0', 16);
  const data = Uint8Array.from(bytes.map((b) => Number.parseInt(b, 16)));
  if ((flags & 0x0010) !== 0)
    return {
      kind: 'frame',
      frame: {
        ...idt,
        rtr: true,
        fd: false,
        data: new Uint8Array(0),
        dlc,
        bus: channel,
        wallUs,
        monoUs: wallUs,
      },
    };
  const fd = (flags & 0x1000) !== 0 || len > 8 || !Number.isFinite(flags);
  if (fd && !(FD_DLC_BYTES as readonly number[]).includes(len))
    return { kind: 'bad', expected: `a CAN FD length (${FD_DLC_BYTES.join(', ')})` };
  const frame: CanFrame = fd
    ? { ...idt, rtr: false, fd: true, brs, esi, data, bus: channel, wallUs, monoUs: wallUs }
    : { ...idt, rtr: false, fd: false, data, bus: channel, wallUs, monoUs: wallUs };
  return { kind: 'frame', frame };
}

/**
 * PEAK-System TRC trace files, versions 1.0 to 1.3 (fixed columns) and 2.x (columns named by
 * `$COLUMNS`). Times are milliseconds from `$STARTTIME`, an OLE automation date (days since
 * 1899-12-30). Ids of 8 hex digits are 29-bit. Status, warning and error lines carry no frame.
 */
import type { CanFrame } from '../../firmware-bridge/index.js';
import { FD_DLC_BYTES, type LineResult, safeUs } from './types.js';

/** Reading state from the `;$` header lines. */
export interface TrcState {
  version: string;
  startUs: number;
  columns: string[];
}

export function newTrcState(): TrcState {
  return { version: '1.1', startUs: 0, columns: [] };
}

const OLE_EPOCH_DAYS = 25569; // 1970-01-01 as an OLE automation date

/** One TRC line; header lines update `state`. */
export function parseTrcLine(line: string, state: TrcState): LineResult {
  const t = line.trim();
  if (t === '') return { kind: 'skip' };
  if (t.startsWith(';')) {
    const m = /^;\$(\w+)=(.*)$/.exec(t);
    if (m) {
      if (m[1] === 'FILEVERSION') state.version = m[2]!.trim();
      if (m[1] === 'STARTTIME') {
        const days = m[2]!.trim();
        const us = /^\d+(\.\d+)?$/.test(days)
          ? safeUs(Math.round((Number(days) - OLE_EPOCH_DAYS) * 86400e6))
          : undefined;
        if (us === undefined)
          return {
            kind: 'bad',
            expected:
              '$STARTTIME as an OLE automation date (days since 1899-12-30, such as 44548.6028595139)',
          };
        state.startUs = us;
      }
      if (m[1] === 'COLUMNS') state.columns = m[2]!.split(',').map((c) => c.trim());
    }
    return { kind: 'skip' };
  }
  const parts = t.split(/\s+/);
  return state.version.startsWith('2') ? parseV2(parts, state) : parseV1(parts, state);
}

function idOf(text: string): { id: number; extended: boolean } | undefined {
  if (!/^[0-9A-Fa-f]{1,8}$/.test(text)) return undefined;
  const id = Number.parseInt(text, 16);
  const extended = text.length > 4;
  if (extended ? id > 0x1fffffff : id > 0x7ff) return undefined;
  return { id, extended };
}

function bytesOf(parts: string[], from: number, n: number): Uint8Array | undefined {
  const b = parts.slice(from, from + n);
  if (b.length !== n || !b.every((x) => /^[0-9A-Fa-f]{2}$/.test(x))) return undefined;
  return Uint8Array.from(b.map((x) => Number.parseInt(x, 16)));
}

function parseV1(parts: string[], state: TrcState): LineResult {
  // 1.0: N) O ID L D... | 1.1: N) O T ID L D... | 1.2: N) O B T ID L D... | 1.3: N) O B T ID d R? L D...
  if (!/^\d+\)$/.test(parts[0] ?? '')) return { kind: 'bad', expected: "a message number like '12)'" };
  const offsetMs = Number(parts[1]);
  if (!Number.isFinite(offsetMs))
    return { kind: 'bad', expected: 'a time offset in ms after the message number' };
  let k = 2;
  let bus = '1';
  if (state.version === '1.2' || state.version === '1.3') bus = parts[k++] ?? '1';
  let type = 'Rx';
  if (state.version !== '1.0') type = parts[k++] ?? '';
  if (/^(Warng|Error|Stat)$/i.test(type)) return { kind: 'error-frame' };
  if (type !== 'Rx' && type !== 'Tx' && type !== 'RR')
    return { kind: 'bad', expected: 'Rx, Tx, RR, Warng or Error as the type' };
  const idt = idOf(parts[k++] ?? '');
  if (!idt) return { kind: 'bad', expected: 'a hex id (4 digits standard, 8 digits extended)' };
  if (state.version === '1.3') {
    k++; // direction column
    if (parts[k] === '-') k++; // reserved column
  }
  const wallUs = safeUs(state.startUs + Math.round(offsetMs * 1000));
  if (wallUs === undefined) return { kind: 'bad', expected: 'a time offset in ms within 285 years' };
  const lenText = parts[k++] ?? '';
  if (lenText === 'RTR' || type === 'RR' || parts[k] === 'RTR') {
    const dlc = Number(lenText) || 0;
    return {
      kind: 'frame',
      frame: { ...idt, rtr: true, fd: false, data: new Uint8Array(0), dlc, bus, wallUs, monoUs: wallUs },
    };
  }
  const len = Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > 8) return { kind: 'bad', expected: 'a data length 0..8' };
  const data = bytesOf(parts, k, len);
  if (!data) return { kind: 'bad', expected: `${len} data bytes` };
  return { kind: 'frame', frame: { ...idt, rtr: false, fd: false, data, bus, wallUs, monoUs: wallUs } };
}

function parseV2(parts: string[], state: TrcState): LineResult {
  const cols = state.columns.length > 0 ? state.columns : ['N', 'O', 'T', 'B', 'I', 'd', 'R', 'L', 'D'];
  const at = (c: string) => cols.indexOf(c);
  const get = (c: string) => (at(c) >= 0 ? parts[at(c)] : undefined);
  const type = get('T') ?? 'DT';
  if (['ST', 'EC', 'ER', 'EV', 'XX'].includes(type))
    return type === 'ER' || type === 'EC' ? { kind: 'error-frame' } : { kind: 'skip' };
  if (!['DT', 'FD', 'FB', 'FE', 'BI', 'RR'].includes(type))
    return { kind: 'bad', expected: 'a message type (DT, FD, FB, FE, BI, RR, ST, EC, ER, EV)' };
  const offsetMs = Number(get('O'));
  if (!Number.isFinite(offsetMs)) return { kind: 'bad', expected: 'a time offset in ms in column O' };
  const idt = idOf(get('I') ?? '');
  if (!idt) return { kind: 'bad', expected: 'a hex id in column I (4 digits standard, 8 extended)' };
  const bus = get('B') ?? '1';
  const wallUs = safeUs(state.startUs + Math.round(offsetMs * 1000));
  if (wallUs === undefined)
    return { kind: 'bad', expected: 'a time offset in ms within 285 years in column O' };
  // L is the DLC (for FD a code 0..15), l the byte length.
  const dlcText = get('L') ?? get('l') ?? '0';
  const dlc = Number(dlcText);
  if (type === 'RR')
    return {
      kind: 'frame',
      frame: { ...idt, rtr: true, fd: false, data: new Uint8Array(0), dlc, bus, wallUs, monoUs: wallUs },
    };
  const fd = type !== 'DT';
  const len = at('l') >= 0 ? Number(get('l')) : fd ? (FD_DLC_BYTES[dlc] ?? -1) : dlc;
  if (!Number.isInteger(len) || len < 0 || len > (fd ? 64 : 8))
    return { kind: 'bad', expected: `a length 0..${fd ? 64 : 8}` };
  const data = bytesOf(parts, at('D') >= 0 ? at('D') : parts.length - len, len);
  if (!data) return { kind: 'bad', expected: `${len} data bytes in column D` };
  const frame: CanFrame = fd
    ? {
        ...idt,
        rtr: false,
        fd: true,
        brs: type === 'FB' || type === 'BI',
        esi: type === 'FE' || type === 'BI',
        data,
        bus,
        wallUs,
        monoUs: wallUs,
      }
    : { ...idt, rtr: false, fd: false, data, bus, wallUs, monoUs: wallUs };
  return { kind: 'frame', frame };
}

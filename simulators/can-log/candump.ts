/**
 * candump formats (can-utils): the log format of `candump -l` / `-L`,
 * `(1674148739.212264) can0 112#FF0015`, with `##<flags>` for CAN FD, `#R` for remote frames and
 * the CAN_ERR_FLAG (0x20000000) in 8-digit ids for error frames; and the screen format of plain
 * `candump`, `  can0  123   [3]  11 22 33`, optionally preceded by a `(timestamp)` from -t a/d/z.
 */
import type { CanFrame } from '../../firmware-bridge/index.js';
import { FD_DLC_BYTES, type LineResult, parseHexBytes, safeUs } from './types.js';

const CAN_ERR_FLAG = 0x20000000;
const LOG_LINE = /^\((\d+(?:\.\d+)?)\)\s+(\S+)\s+([0-9A-Fa-f]{1,8})(#{1,2})(\S*)(?:\s+[RT])?\s*$/;

/** One `candump -l` line. */
export function parseCandumpLogLine(line: string): LineResult {
  const m = LOG_LINE.exec(line.trim());
  if (!m) return { kind: 'bad', expected: '(seconds.micros) iface ID#DATA, as candump -l writes' };
  const [, ts, bus, idHex, hashes, rest] = m as unknown as [string, string, string, string, string, string];
  const rawId = Number.parseInt(idHex, 16);
  const extended = idHex.length === 8;
  const wallUs = safeUs(Math.round(Number(ts) * 1e6));
  if (wallUs === undefined) return { kind: 'bad', expected: 'a timestamp in seconds within 285 years' };
  if (extended && (rawId & CAN_ERR_FLAG) !== 0) return { kind: 'error-frame' };
  if (extended && rawId > 0x1fffffff) return { kind: 'bad', expected: 'a 29-bit id (at most 1FFFFFFF)' };
  if (!extended && idHex.length !== 3)
    return { kind: 'bad', expected: 'a 3-digit standard id or an 8-digit extended id' };
  if (!extended && rawId > 0x7ff) return { kind: 'bad', expected: 'an 11-bit id (at most 7FF) in 3 digits' };
  let frame: CanFrame;
  if (hashes === '##') {
    // ##<flags nibble><data>: flags bit 0 = BRS, bit 1 = ESI (linux/can.h CANFD_BRS, CANFD_ESI).
    const flags = Number.parseInt(rest.slice(0, 1), 16);
    const data = parseHexBytes(rest.slice(1));
    if (Number.isNaN(flags) || data === undefined)
      return { kind: 'bad', expected: 'a flags digit and hex data after ##' };
    if (!(FD_DLC_BYTES as readonly number[]).includes(data.length))
      return {
        kind: 'bad',
        expected: `a CAN FD length (${FD_DLC_BYTES.join(', ')} bytes); got ${data.length}`,
      };
    frame = {
      id: rawId,
      extended,
      rtr: false,
      fd: true,
      brs: (flags & 1) !== 0,
      esi: (flags & 2) !== 0,
      data,
      bus,
      wallUs,
      monoUs: wallUs,
    };
  } else if (rest.startsWith('R')) {
    const dlc = rest.length > 1 ? Number.parseInt(rest.slice(1), 16) : 0;
    if (Number.isNaN(dlc) || dlc > 8) return { kind: 'bad', expected: 'R or R<dlc 0..8> for a remote frame' };
    frame = {
      id: rawId,
      extended,
      rtr: true,
      fd: false,
      data: new Uint8Array(0),
      dlc,
      bus,
      wallUs,
      monoUs: wallUs,
    };
  } else {
    // Classic data, optionally `_<dlc>` for a raw DLC 9..F (can-utils' len8_dlc).
    const [hex, dlcText] = rest.split('_') as [string, string | undefined];
    const data = parseHexBytes(hex);
    if (data === undefined) return { kind: 'bad', expected: 'hex data bytes after #' };
    if (data.length > 8)
      return {
        kind: 'bad',
        expected: `at most 8 data bytes for classic CAN (use ## for FD); got ${data.length}`,
      };
    frame = {
      id: rawId,
      extended,
      rtr: false,
      fd: false,
      data,
      ...(dlcText ? { dlc: Number.parseInt(dlcText, 16) } : {}),
      bus,
      wallUs,
      monoUs: wallUs,
    };
  }
  return { kind: 'frame', frame };
}

const SCREEN_LINE =
  /^(?:\((\d+(?:\.\d+)?)\)\s+)?(\S+)\s+([0-9A-Fa-f]{3}|[0-9A-Fa-f]{8})\s+\[(\d{1,2})\]\s*((?:[0-9A-Fa-f]{2}\s*)*?)\s*(remote request|ERRORFRAME.*)?$/;

/** One line of `candump` screen output. `fallbackUs` stamps lines without a timestamp. */
export function parseCandumpScreenLine(line: string, fallbackUs: number): LineResult {
  const m = SCREEN_LINE.exec(line.trim());
  if (!m) return { kind: 'bad', expected: '[(timestamp)] iface ID [len] bytes, as candump prints' };
  const [, ts, bus, idHex, lenText, hex, tail] = m as unknown as [
    string,
    string | undefined,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  const rawId = Number.parseInt(idHex, 16);
  const extended = idHex.length === 8;
  if (tail?.startsWith('ERRORFRAME') || (extended && (rawId & CAN_ERR_FLAG) !== 0))
    return { kind: 'error-frame' };
  // Bits 29-31 of an 8-digit id are SocketCAN flags, never part of a 29-bit id.
  if (extended && rawId > 0x1fffffff) return { kind: 'bad', expected: 'a 29-bit id (at most 1FFFFFFF)' };
  if (!extended && rawId > 0x7ff) return { kind: 'bad', expected: 'an 11-bit id (at most 7FF) in 3 digits' };
  const len = Number(lenText);
  const wallUs = ts === undefined ? fallbackUs : safeUs(Math.round(Number(ts) * 1e6));
  if (wallUs === undefined) return { kind: 'bad', expected: 'a timestamp in seconds within 285 years' };
  if (tail === 'remote request' && len > 8)
    return { kind: 'bad', expected: 'a remote request length of 0..8' };
  if (tail === 'remote request')
    return {
      kind: 'frame',
      frame: {
        id: rawId,
        extended,
        rtr: true,
        fd: false,
        data: new Uint8Array(0),
        dlc: len,
        bus,
        wallUs,
        monoUs: wallUs,
      },
    };
  const data = parseHexBytes(hex);
  if (data === undefined || data.length !== len)
    return { kind: 'bad', expected: `${len} data bytes as [${len}] says` };
  if (!(FD_DLC_BYTES as readonly number[]).includes(len))
    return { kind: 'bad', expected: 'a length of 0..8, 12, 16, 20, 24, 32, 48 or 64 bytes' };
  // The screen format writes FD lengths with two digits ([12], [64]); classic frames have at most 8.
  const fd = len > 8 || lenText.length === 2;
  return { kind: 'frame', frame: { id: rawId, extended, rtr: false, fd, data, bus, wallUs, monoUs: wallUs } };
}

/** Writes frames as `candump -l` lines (readable by canplayer and by `parseCandumpLogLine`). */
export function writeCandumpLog(frames: Iterable<CanFrame>): string {
  const lines: string[] = [];
  for (const f of frames) {
    const sec = Math.floor(f.wallUs / 1e6);
    const us = f.wallUs - sec * 1e6;
    const id = f.extended
      ? f.id.toString(16).toUpperCase().padStart(8, '0')
      : f.id.toString(16).toUpperCase().padStart(3, '0');
    const hex = Buffer.from(f.data).toString('hex').toUpperCase();
    let body: string;
    if (f.fd) body = `##${((f.brs ? 1 : 0) | (f.esi ? 2 : 0)).toString(16).toUpperCase()}${hex}`;
    else if (f.rtr) body = `#R${f.dlc ? f.dlc.toString(16).toUpperCase() : ''}`;
    else body = `#${hex}`;
    lines.push(`(${sec}.${String(us).padStart(6, '0')}) ${f.bus} ${id}${body}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

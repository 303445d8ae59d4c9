/**
 * Typed NMEA 0183 sentences: GGA, RMC, VTG, GSA, GSV, GLL, ZDA and GST from any talker (GP GPS, GL
 * GLONASS, GA Galileo, GB/BD BeiDou, GQ QZSS, GI NavIC, GN combined), including the fields NMEA
 * 4.10/4.11 added: the FAA mode indicator (RMC, GLL, VTG), RMC's navigational status, GSA's system
 * id and GSV's signal id. Empty fields (a receiver without a fix sends `,,`) become absent values;
 * a field that is present but malformed rejects the sentence with the field's number, name and the
 * expected form. Other sentence types parse as `{ type: 'other' }` so a caller can count them.
 */
import {
  civilDate,
  coord,
  date,
  type F,
  FieldProblem,
  int,
  letter,
  type Mutable,
  need,
  num,
  put,
  RANGE,
  timeOfDay,
} from './nmea-fields.js';
import { type FrameResult, type NmeaFrame, type NmeaProblem, parseNmeaFrame } from './nmea-frame.js';

/** Talker ids this parser knows; others still parse (the address is valid) and are kept as given. */
export const GNSS_TALKERS = ['GP', 'GN', 'GL', 'GA', 'GB', 'BD', 'GQ', 'GI'] as const;

/** NMEA 4.11 GSA/GSV system id: 1 GPS, 2 GLONASS, 3 Galileo, 4 BeiDou, 5 QZSS, 6 NavIC. */
export const GNSS_SYSTEM_ID = { gps: 1, glonass: 2, galileo: 3, beidou: 4, qzss: 5, navic: 6 } as const;

interface Base {
  readonly talker: string;
}

export interface GgaSentence extends Base {
  readonly type: 'GGA';
  readonly timeOfDayMs?: number;
  readonly latDeg?: number;
  readonly lonDeg?: number;
  /** 0 invalid, 1 GPS, 2 DGPS, 3 PPS, 4 RTK fixed, 5 RTK float, 6 dead reckoning, 7 manual, 8 simulation. */
  readonly quality: number;
  readonly satsUsed?: number;
  readonly hdop?: number;
  readonly altM?: number;
  readonly geoidSepM?: number;
  readonly dgpsAgeS?: number;
}

export interface RmcSentence extends Base {
  readonly type: 'RMC';
  readonly timeOfDayMs?: number;
  /** Status A (valid) or V (warning: no valid fix). */
  readonly valid: boolean;
  readonly latDeg?: number;
  readonly lonDeg?: number;
  readonly speedKn?: number;
  readonly courseDeg?: number;
  /** UTC date as ms since the Unix epoch at 00:00 of that day. */
  readonly dateMs?: number;
  /** Magnetic variation, degrees, east positive. */
  readonly magVarDeg?: number;
  /** FAA mode indicator (NMEA 2.3+): A autonomous, D differential, E estimated, M manual, N none, S simulator, F/R RTK, P precise. */
  readonly faaMode?: string;
  /** NMEA 4.1 navigational status: S safe, C caution, U unsafe, V not valid. */
  readonly navStatus?: string;
}

export interface VtgSentence extends Base {
  readonly type: 'VTG';
  readonly courseDeg?: number;
  readonly courseMagDeg?: number;
  readonly speedKn?: number;
  readonly speedKmh?: number;
  readonly faaMode?: string;
}

export interface GsaSentence extends Base {
  readonly type: 'GSA';
  /** A automatic or M manual 2D/3D selection. */
  readonly selection?: string;
  /** 1 no fix, 2 2D, 3 3D. */
  readonly navMode?: number;
  /** Satellite ids used in the solution (up to 12 per sentence). */
  readonly satIds: readonly number[];
  readonly pdop?: number;
  readonly hdop?: number;
  readonly vdop?: number;
  /** NMEA 4.11 system id (GNSS_SYSTEM_ID). */
  readonly systemId?: number;
}

/** One satellite of a GSV sentence. */
export interface GsvSatellite {
  readonly id: number;
  readonly elevationDeg?: number;
  readonly azimuthDeg?: number;
  /** Carrier-to-noise density, dB-Hz; absent when not tracked. */
  readonly snrDbHz?: number;
}

export interface GsvSentence extends Base {
  readonly type: 'GSV';
  readonly total: number;
  readonly index: number;
  readonly inView: number;
  readonly satellites: readonly GsvSatellite[];
  /** NMEA 4.10 signal id (which band/signal the list describes). */
  readonly signalId?: number;
}

export interface GllSentence extends Base {
  readonly type: 'GLL';
  readonly latDeg?: number;
  readonly lonDeg?: number;
  readonly timeOfDayMs?: number;
  readonly valid: boolean;
  readonly faaMode?: string;
}

export interface ZdaSentence extends Base {
  readonly type: 'ZDA';
  readonly timeOfDayMs?: number;
  readonly dateMs?: number;
}

export interface GstSentence extends Base {
  readonly type: 'GST';
  readonly timeOfDayMs?: number;
  /** 1-sigma error of latitude, longitude and altitude, m. */
  readonly latErrM?: number;
  readonly lonErrM?: number;
  readonly altErrM?: number;
}

/** A valid sentence of a type this parser does not decode (TXT, GSV's proprietary cousins, PASHR ...). */
export interface OtherSentence extends Base {
  readonly type: 'other';
  readonly sentenceType: string;
}

export type NmeaSentence =
  | GgaSentence
  | RmcSentence
  | VtgSentence
  | GsaSentence
  | GsvSentence
  | GllSentence
  | ZdaSentence
  | GstSentence
  | OtherSentence;

export type SentenceResult =
  | { readonly ok: true; readonly sentence: NmeaSentence; readonly hasChecksum: boolean }
  | { readonly ok: false; readonly problem: NmeaProblem };

const FAA = 'ADEFMNPRSC';

function gga(talker: string, f: F): GgaSentence {
  need(f, 9, 'GGA');
  const quality = int(f, 5, 'fix quality');
  if (quality === undefined || quality > 8) throw new FieldProblem(5, 'fix quality', f[5] ?? '', '0..8');
  const altUnit = f[9] ?? '';
  const o: Mutable<GgaSentence> = { type: 'GGA', talker, quality };
  put(o, 'timeOfDayMs', timeOfDay(f, 0));
  put(o, 'latDeg', coord(f, 1, true));
  put(o, 'lonDeg', coord(f, 3, false));
  put(o, 'satsUsed', int(f, 6, 'satellites used'));
  put(o, 'hdop', num(f, 7, 'HDOP', RANGE.nonNegative));
  put(o, 'altM', altUnit === 'M' || altUnit === '' ? num(f, 8, 'altitude') : undefined);
  put(o, 'geoidSepM', num(f, 10, 'geoid separation'));
  put(o, 'dgpsAgeS', num(f, 12, 'DGPS age', RANGE.nonNegative));
  return o;
}

function rmc(talker: string, f: F): RmcSentence {
  need(f, 9, 'RMC');
  const status = letter(f, 1, 'status', 'AV');
  const mv = num(f, 9, 'magnetic variation', RANGE.degrees180);
  const mvDir = letter(f, 10, 'variation direction', 'EW');
  const o: Mutable<RmcSentence> = { type: 'RMC', talker, valid: status === 'A' };
  put(o, 'timeOfDayMs', timeOfDay(f, 0));
  put(o, 'latDeg', coord(f, 2, true));
  put(o, 'lonDeg', coord(f, 4, false));
  put(o, 'speedKn', num(f, 6, 'speed', RANGE.nonNegative));
  put(o, 'courseDeg', num(f, 7, 'course', RANGE.degrees360));
  put(o, 'dateMs', date(f, 8));
  put(o, 'magVarDeg', mv === undefined ? undefined : mvDir === 'W' ? -mv : mv);
  put(o, 'faaMode', letter(f, 11, 'mode indicator', FAA));
  put(o, 'navStatus', letter(f, 12, 'navigational status', 'SCUV'));
  return o;
}

function vtg(talker: string, f: F): VtgSentence {
  const o: Mutable<VtgSentence> = { type: 'VTG', talker };
  // NMEA 2.3+: course,T,course,M,speed,N,speed,K[,mode]; NMEA 1.x/2.0 omitted the unit letters.
  if (f[1] === 'T' || f[3] === 'M' || f[5] === 'N' || f[7] === 'K' || f.length >= 8) {
    need(f, 8, 'VTG');
    put(o, 'courseDeg', num(f, 0, 'course true', RANGE.degrees360));
    put(o, 'courseMagDeg', num(f, 2, 'course magnetic', RANGE.degrees360));
    put(o, 'speedKn', num(f, 4, 'speed knots', RANGE.nonNegative));
    put(o, 'speedKmh', num(f, 6, 'speed km/h', RANGE.nonNegative));
    put(o, 'faaMode', letter(f, 8, 'mode indicator', FAA));
    return o;
  }
  need(f, 4, 'VTG');
  put(o, 'courseDeg', num(f, 0, 'course true', RANGE.degrees360));
  put(o, 'courseMagDeg', num(f, 1, 'course magnetic', RANGE.degrees360));
  put(o, 'speedKn', num(f, 2, 'speed knots', RANGE.nonNegative));
  put(o, 'speedKmh', num(f, 3, 'speed km/h', RANGE.nonNegative));
  return o;
}

function gsa(talker: string, f: F): GsaSentence {
  need(f, 17, 'GSA');
  const navMode = int(f, 1, 'fix mode');
  if (navMode !== undefined && (navMode < 1 || navMode > 3))
    throw new FieldProblem(1, 'fix mode', f[1] ?? '', '1, 2 or 3');
  const satIds: number[] = [];
  for (let i = 2; i < 14; i++) {
    const id = int(f, i, 'satellite id');
    if (id !== undefined) satIds.push(id);
  }
  const o: Mutable<GsaSentence> = { type: 'GSA', talker, satIds };
  put(o, 'selection', letter(f, 0, 'selection mode', 'AM'));
  put(o, 'navMode', navMode);
  put(o, 'pdop', num(f, 14, 'PDOP', RANGE.nonNegative));
  put(o, 'hdop', num(f, 15, 'HDOP', RANGE.nonNegative));
  put(o, 'vdop', num(f, 16, 'VDOP', RANGE.nonNegative));
  put(o, 'systemId', int(f, 17, 'system id'));
  return o;
}

function gsv(talker: string, f: F): GsvSentence {
  need(f, 3, 'GSV');
  const total = int(f, 0, 'number of sentences');
  const index = int(f, 1, 'sentence number');
  const inView = int(f, 2, 'satellites in view');
  if (total === undefined || total < 1) throw new FieldProblem(0, 'number of sentences', f[0] ?? '', '1..9');
  if (index === undefined || index < 1 || index > total)
    throw new FieldProblem(1, 'sentence number', f[1] ?? '', `1..${total}`);
  const rest = f.length - 3;
  // Four fields per satellite; NMEA 4.10 appends one signal id.
  const hasSignal = rest % 4 === 1;
  if (rest % 4 !== 0 && !hasSignal)
    throw new FieldProblem(
      f.length - 1,
      'satellite block',
      '',
      'four fields per satellite (id, elevation, azimuth, SNR)',
    );
  const satellites: GsvSatellite[] = [];
  const end = f.length - (hasSignal ? 1 : 0);
  for (let i = 3; i + 3 < end; i += 4) {
    const id = int(f, i, 'satellite id');
    if (id === undefined) continue;
    const sat: Mutable<GsvSatellite> = { id };
    put(sat, 'elevationDeg', num(f, i + 1, 'elevation', RANGE.elevation));
    put(sat, 'azimuthDeg', num(f, i + 2, 'azimuth', RANGE.degrees360));
    put(sat, 'snrDbHz', num(f, i + 3, 'SNR', RANGE.snr));
    satellites.push(sat);
  }
  const o: Mutable<GsvSentence> = { type: 'GSV', talker, total, index, inView: inView ?? 0, satellites };
  put(o, 'signalId', hasSignal ? int(f, f.length - 1, 'signal id') : undefined);
  return o;
}

function gll(talker: string, f: F): GllSentence {
  need(f, 4, 'GLL');
  const status = letter(f, 5, 'status', 'AV');
  // NMEA 1.5 GLL had no status field: a position then means valid.
  const valid = status === undefined ? f[0] !== '' : status === 'A';
  const o: Mutable<GllSentence> = { type: 'GLL', talker, valid };
  put(o, 'latDeg', coord(f, 0, true));
  put(o, 'lonDeg', coord(f, 2, false));
  put(o, 'timeOfDayMs', timeOfDay(f, 4));
  put(o, 'faaMode', letter(f, 6, 'mode indicator', FAA));
  return o;
}

function zda(talker: string, f: F): ZdaSentence {
  need(f, 4, 'ZDA');
  const d = int(f, 1, 'day');
  const m = int(f, 2, 'month');
  const y = int(f, 3, 'year');
  let dateMs: number | undefined;
  if (d !== undefined && m !== undefined && y !== undefined) {
    if (y < 1980 || y > 2200) throw new FieldProblem(3, 'year', f[3] ?? '', 'a four-digit year');
    dateMs = civilDate(y, m, d, 1, `${f[1]},${f[2]},${f[3]}`);
  }
  const o: Mutable<ZdaSentence> = { type: 'ZDA', talker };
  put(o, 'timeOfDayMs', timeOfDay(f, 0));
  put(o, 'dateMs', dateMs);
  return o;
}

function gst(talker: string, f: F): GstSentence {
  need(f, 8, 'GST');
  const o: Mutable<GstSentence> = { type: 'GST', talker };
  put(o, 'timeOfDayMs', timeOfDay(f, 0));
  put(o, 'latErrM', num(f, 5, 'latitude error', RANGE.nonNegative));
  put(o, 'lonErrM', num(f, 6, 'longitude error', RANGE.nonNegative));
  put(o, 'altErrM', num(f, 7, 'altitude error', RANGE.nonNegative));
  return o;
}

/** A Map, not an object: a sentence type from the wire is never looked up on Object.prototype. */
const PARSERS = new Map<string, (talker: string, f: F) => NmeaSentence>([
  ['GGA', gga],
  ['RMC', rmc],
  ['VTG', vtg],
  ['GSA', gsa],
  ['GSV', gsv],
  ['GLL', gll],
  ['ZDA', zda],
  ['GST', gst],
]);

/** Column (1-based) where field `index` starts in the line. */
function fieldColumn(frame: NmeaFrame, index: number): number {
  let col = 2 + frame.talker.length + frame.type.length + 1;
  for (let i = 0; i < index && i < frame.fields.length; i++) col += frame.fields[i]!.length + 1;
  return col;
}

/** Decodes a checked frame into a typed sentence. */
export function decodeFrame(frame: NmeaFrame): SentenceResult {
  const parse = frame.talker === 'P' ? undefined : PARSERS.get(frame.type);
  if (parse === undefined)
    return {
      ok: true,
      hasChecksum: frame.hasChecksum,
      sentence: { type: 'other', talker: frame.talker, sentenceType: frame.type },
    };
  try {
    return { ok: true, hasChecksum: frame.hasChecksum, sentence: parse(frame.talker, frame.fields) };
  } catch (err) {
    if (!(err instanceof FieldProblem)) throw err;
    const where = `${frame.talker}${frame.type} field ${err.index + 1} (${err.name})`;
    const tooFew = err.found === '' && err.expected.startsWith('at least');
    return {
      ok: false,
      problem: {
        code: tooFew ? 'TOO_FEW_FIELDS' : 'BAD_FIELD',
        column: fieldColumn(frame, err.index),
        message: tooFew
          ? `${frame.talker}${frame.type}: expected ${err.expected}, found ${frame.fields.length}`
          : `${where}: found '${err.found.slice(0, 20)}', expected ${err.expected}`,
      },
    };
  }
}

/** Checks, splits and decodes one line (line ending removed). */
export function parseNmeaSentence(line: string, requireChecksum = false): SentenceResult {
  const r: FrameResult = parseNmeaFrame(line, requireChecksum);
  return r.ok ? decodeFrame(r.frame) : r;
}

/**
 * Field parsers for NMEA 0183 sentences: numbers, UTC time and date, latitude/longitude with their
 * hemisphere, single-letter status fields. Empty fields are absent (undefined); a malformed field
 * throws `FieldProblem` (field index, name, what was found and what was expected), which the
 * sentence parser turns into a result: nothing escapes to the caller as an exception.
 */

/** Thrown inside a sentence parser and turned into a result at the boundary. */
export class FieldProblem {
  constructor(
    readonly index: number,
    readonly name: string,
    readonly found: string,
    readonly expected: string,
  ) {}
}

/** The fields of one sentence after its address. */
export type F = readonly string[];

/** NMEA's decimal numbers: digits with an optional sign and fraction; no exponent, hex or spaces. */
const DECIMAL = /^-?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** Ranges of the physical quantities NMEA carries, for `num`. */
export const RANGE = {
  /** Speeds, DOPs, error estimates, ages: never negative. A negative speed would satisfy a grant condition "speed <= 0" while the car moves. */
  nonNegative: [0, Number.POSITIVE_INFINITY],
  /** True or magnetic course over ground, azimuth. */
  degrees360: [0, 360],
  /** Magnetic variation (its direction is a separate E/W field). */
  degrees180: [0, 180],
  /** Satellite elevation (some receivers report slightly negative elevations below the horizon). */
  elevation: [-90, 90],
  /** Carrier-to-noise density, dB-Hz (two digits in NMEA). */
  snr: [0, 99],
} as const satisfies Record<string, readonly [number, number]>;

/**
 * Field i as a decimal number, within `range` (inclusive) when given. A value outside its range is a
 * malformed field, not a value: the sentence is refused with the field and the range.
 */
export function num(f: F, i: number, name: string, range?: readonly [number, number]): number | undefined {
  const s = f[i];
  if (s === undefined || s === '') return undefined;
  const v = DECIMAL.test(s) ? Number(s) : Number.NaN;
  if (!Number.isFinite(v)) throw new FieldProblem(i, name, s, 'a decimal number');
  if (range !== undefined && (v < range[0] || v > range[1]))
    throw new FieldProblem(
      i,
      name,
      s,
      range[1] === Number.POSITIVE_INFINITY
        ? `a decimal number from ${range[0]}`
        : `a decimal number from ${range[0]} to ${range[1]}`,
    );
  return v;
}

/** Field i as a whole number (digits only). */
export function int(f: F, i: number, name: string): number | undefined {
  const s = f[i];
  if (s === undefined || s === '') return undefined;
  if (!/^\d{1,9}$/.test(s)) throw new FieldProblem(i, name, s, 'a whole number');
  return Number(s);
}

/** hhmmss or hhmmss.sss -> ms of the day. */
export function timeOfDay(f: F, i: number): number | undefined {
  const s = f[i];
  if (s === undefined || s === '') return undefined;
  const m = /^(\d\d)(\d\d)(\d\d)(\.\d+)?$/.exec(s);
  const h = m ? Number(m[1]) : 99;
  const min = m ? Number(m[2]) : 99;
  // 60 is a leap second (NMEA allows it).
  const sec = m ? Number(m[3]) : 99;
  if (!m || h > 23 || min > 59 || sec > 60) throw new FieldProblem(i, 'UTC time', s, 'hhmmss.ss');
  return ((h * 60 + min) * 60 + sec) * 1000 + Math.round(Number(`0${m[4] ?? ''}`) * 1000);
}

/** ddmmyy -> ms at 00:00 UTC; two-digit years are 1980..2079 (GPS time started in 1980). */
export function date(f: F, i: number): number | undefined {
  const s = f[i];
  if (s === undefined || s === '') return undefined;
  const m = /^(\d\d)(\d\d)(\d\d)$/.exec(s);
  if (!m) throw new FieldProblem(i, 'UTC date', s, 'ddmmyy');
  const yy = Number(m[3]);
  return civilDate(yy < 80 ? 2000 + yy : 1900 + yy, Number(m[2]), Number(m[1]), i, s);
}

/** ms at 00:00 UTC of a calendar date; throws FieldProblem for 31 February and the like. */
export function civilDate(y: number, mo: number, d: number, i: number, s: string): number {
  const ms = Date.UTC(y, mo - 1, d);
  if (mo < 1 || mo > 12 || d < 1 || new Date(ms).getUTCDate() !== d)
    throw new FieldProblem(i, 'UTC date', s, 'a calendar date');
  return ms;
}

/** ddmm.mmmm + N/S (or dddmm.mmmm + E/W) -> signed degrees. */
export function coord(f: F, i: number, lat: boolean): number | undefined {
  const s = f[i];
  const hemi = f[i + 1] ?? '';
  const name = lat ? 'latitude' : 'longitude';
  if ((s === undefined || s === '') && hemi === '') return undefined;
  const degDigits = lat ? 2 : 3;
  const re = lat ? /^(\d{2})(\d{2}(?:\.\d*)?)$/ : /^(\d{3})(\d{2}(?:\.\d*)?)$/;
  const m = re.exec(s ?? '');
  if (!m) throw new FieldProblem(i, name, s ?? '', `${'d'.repeat(degDigits)}mm.mmmm`);
  const deg = Number(m[1]);
  const minutes = Number(m[2]);
  const v = deg + minutes / 60;
  if (minutes >= 60 || v > (lat ? 90 : 180))
    throw new FieldProblem(i, name, s ?? '', `${'d'.repeat(degDigits)}mm.mmmm within range`);
  const ok = lat ? hemi === 'N' || hemi === 'S' : hemi === 'E' || hemi === 'W';
  if (!ok) throw new FieldProblem(i + 1, `${name} hemisphere`, hemi, lat ? 'N or S' : 'E or W');
  return hemi === 'S' || hemi === 'W' ? -v : v;
}

/** Field i as one letter from `allowed`. */
export function letter(f: F, i: number, name: string, allowed: string): string | undefined {
  const s = f[i];
  if (s === undefined || s === '') return undefined;
  if (s.length !== 1 || !allowed.includes(s)) throw new FieldProblem(i, name, s, `one of ${allowed}`);
  return s;
}

/** Throws unless the sentence has at least n fields. */
export function need(f: F, n: number, what: string): void {
  if (f.length < n) throw new FieldProblem(f.length, what, '', `at least ${n} fields`);
}

/** T without readonly, for building a sentence field by field. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Sets `o[key] = v` only when v is defined (exactOptionalPropertyTypes; cheaper than spreading). */
export function put<T, K extends keyof T>(o: Mutable<T>, key: K, v: T[K] | undefined): void {
  if (v !== undefined) o[key] = v;
}

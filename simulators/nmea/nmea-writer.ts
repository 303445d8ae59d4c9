/**
 * Writes the NMEA 0183 sentences a GPS receiver would send for a vehicle state: per epoch GGA, GSA,
 * GSV (every `gsvEverySec` seconds, as SiRF and MediaTek chips do), RMC and VTG, each with its
 * checksum and CR LF. The satellite picture is a fixed, plausible constellation; position, speed,
 * course and altitude come from the state, so what the agent decodes can be checked against the model.
 */
import { withChecksum } from '../../firmware-bridge/index.js';
import type { VehicleState } from '../vehicle/state.js';

export interface NmeaWriterOptions {
  /** `GP` (GPS only, the default) or `GN` (multi-constellation). */
  readonly talker?: 'GP' | 'GN';
  /** Emit the GSV series every this many seconds (default 5; 1 for every epoch). */
  readonly gsvEverySec?: number;
  /** Satellites used in the fix (default 8; 0 sends a no-fix epoch). */
  readonly satsUsed?: number;
}

/** A fixed constellation: id, elevation, azimuth, SNR. */
const SKY: readonly (readonly [number, number, number, number])[] = [
  [2, 71, 207, 42],
  [5, 59, 95, 40],
  [6, 35, 347, 38],
  [12, 29, 132, 36],
  [13, 23, 11, 35],
  [15, 17, 69, 33],
  [19, 9, 293, 30],
  [24, 41, 250, 39],
  [25, 12, 304, 28],
  [29, 7, 180, 0],
];

const p2 = (n: number) => String(n).padStart(2, '0');

/** hhmmss.ss of a UTC instant. */
export function nmeaTime(utcMs: number): string {
  const d = new Date(utcMs);
  const cs = Math.floor(d.getUTCMilliseconds() / 10);
  return `${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}.${p2(cs)}`;
}

/** ddmmyy of a UTC instant. */
export function nmeaDate(utcMs: number): string {
  const d = new Date(utcMs);
  return `${p2(d.getUTCDate())}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCFullYear() % 100)}`;
}

/** Degrees -> ddmm.mmmmm,N (lat) or dddmm.mmmmm,E (lon), to 1e-5 minute (2 cm). */
export function nmeaCoord(deg: number, lat: boolean): string {
  const hemi = lat ? (deg < 0 ? 'S' : 'N') : deg < 0 ? 'W' : 'E';
  const a = Math.abs(deg);
  let d = Math.floor(a);
  let m = Math.round((a - d) * 60 * 1e5) / 1e5;
  if (m >= 60) {
    d += 1;
    m -= 60;
  }
  const mm = m.toFixed(5).padStart(8, '0');
  return `${String(d).padStart(lat ? 2 : 3, '0')}${mm},${hemi}`;
}

/** The sentences of one epoch at UTC `utcMs`, each with `*HH\r\n`. */
export function epochSentences(
  state: VehicleState,
  utcMs: number,
  options: NmeaWriterOptions = {},
): string[] {
  const t = options.talker ?? 'GP';
  const used = Math.min(options.satsUsed ?? 8, SKY.length);
  const fix = used >= 3;
  const time = nmeaTime(utcMs);
  const lat = nmeaCoord(state.latDeg, true);
  const lon = nmeaCoord(state.lonDeg, false);
  const kn = state.speedKmh / 1.852;
  const course = (((state.headingDeg % 360) + 360) % 360).toFixed(2);
  const hdop = fix ? (4.8 / used).toFixed(2) : '';
  const ids = SKY.slice(0, used).map(([id]) => p2(id));
  while (ids.length < 12) ids.push('');
  const out = [
    `${t}GGA,${time},${fix ? lat : ','},${fix ? lon : ','},${fix ? 1 : 0},${p2(used)},${hdop},${fix ? state.altM.toFixed(1) : ''},M,47.4,M,,`,
    `${t}GSA,A,${fix ? 3 : 1},${ids.join(',')},${fix ? (8 / used).toFixed(2) : ''},${hdop},${fix ? (6.4 / used).toFixed(2) : ''}`,
  ];
  const every = options.gsvEverySec ?? 5;
  if (Math.floor(utcMs / 1000) % every === 0) {
    const total = Math.ceil(SKY.length / 4);
    for (let i = 0; i < total; i++) {
      const sats = SKY.slice(i * 4, i * 4 + 4)
        .map(
          ([id, el, az, snr]) =>
            `${p2(id)},${p2(el)},${String(az).padStart(3, '0')},${snr > 0 ? p2(snr) : ''}`,
        )
        .join(',');
      out.push(`GPGSV,${total},${i + 1},${p2(SKY.length)},${sats}`);
    }
  }
  out.push(
    `${t}RMC,${time},${fix ? 'A' : 'V'},${lat},${lon},${kn.toFixed(3)},${course},${nmeaDate(utcMs)},,,${fix ? 'A' : 'N'}`,
    `${t}VTG,${course},T,,M,${kn.toFixed(3)},N,${state.speedKmh.toFixed(3)},K,${fix ? 'A' : 'N'}`,
  );
  return out.map((body) => `${withChecksum(body)}\r\n`);
}

/**
 * A whole drive as an NMEA log (for gpsfake, which plays files): `seconds` of the model's route at
 * `rateHz` epochs per second from `startUtcMs`. Steps the model it is given.
 */
export function routeLog(
  model: { current(): VehicleState; step(dtMs: number): VehicleState },
  options: { seconds: number; rateHz: number; startUtcMs: number; writer?: NmeaWriterOptions },
): string {
  const periodMs = 1000 / options.rateHz;
  const out: string[] = [];
  let state = model.current();
  for (let i = 0; i < options.seconds * options.rateHz; i++) {
    out.push(...epochSentences(state, options.startUtcMs + i * periodMs, options.writer));
    state = model.step(periodMs);
  }
  return out.join('');
}

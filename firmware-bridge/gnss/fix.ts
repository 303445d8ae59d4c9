/**
 * `GnssFix`: one position solution per receiver epoch, the type both GNSS sources (NMEA on a serial
 * port, gpsd over TCP) emit, so the agent does not care which one the device has. Fields a receiver
 * did not report are absent, never zero.
 */

/** Fix dimension as NMEA GSA and gpsd's TPV `mode` give it: 1 no fix, 2 two-dimensional, 3 three-dimensional. */
export const FIX_MODE = { none: 1, twoD: 2, threeD: 3 } as const;
export type FixMode = (typeof FIX_MODE)[keyof typeof FIX_MODE];

/**
 * How the position was obtained: NMEA GGA quality / FAA mode indicator, gpsd's TPV `status`.
 * `sbas` and `dgps` are both differential corrections; `rtk-fixed`/`rtk-float` are ground-based.
 */
export type FixQuality =
  | 'gps'
  | 'dgps'
  | 'sbas'
  | 'pps'
  | 'rtk-fixed'
  | 'rtk-float'
  | 'dead-reckoning'
  | 'manual'
  | 'simulated';

/** Where the receiver clock and the host clock were read, in ms. */
export interface GnssClock {
  /** Host wall clock, ms since the Unix epoch (what the skew check compares with GNSS time). */
  wallMs(): number;
  /** Monotonic ms (never jumps when the wall clock is set). */
  monoMs(): number;
}

/** The process clock. */
export const systemGnssClock: GnssClock = { wallMs: () => Date.now(), monoMs: () => performance.now() };

export interface GnssFix {
  /** `nmea` (a serial receiver) or `gpsd`. */
  readonly source: 'nmea' | 'gpsd';
  /** GNSS (UTC) time of the epoch, ms since the Unix epoch; absent when the date is not yet known. */
  readonly timeMs?: number;
  /** UTC time of day of the epoch in ms (0 .. 86 399 999), known even before the date is. */
  readonly timeOfDayMs?: number;
  readonly mode: FixMode;
  readonly quality?: FixQuality;
  /** WGS84 degrees, north and east positive. Present when mode >= 2. */
  readonly latDeg?: number;
  readonly lonDeg?: number;
  /** Altitude above mean sea level, m. */
  readonly altM?: number;
  /** Geoid separation (WGS84 ellipsoid minus mean sea level), m. */
  readonly geoidSepM?: number;
  /** Speed over ground, km/h. */
  readonly speedKmh?: number;
  /** Course over ground, degrees from true north, 0 <= c < 360. */
  readonly courseDeg?: number;
  /** Satellites used in the solution. */
  readonly satsUsed?: number;
  /** Satellites in view (all constellations). */
  readonly satsInView?: number;
  readonly hdop?: number;
  readonly vdop?: number;
  readonly pdop?: number;
  /** Estimated horizontal and vertical position error, m (95 %, gpsd eph/epv; NMEA GST 1-sigma). */
  readonly horizontalErrorM?: number;
  readonly verticalErrorM?: number;
  /** Talker ids that contributed (`GP`, `GN`, ...), for diagnostics. */
  readonly talkers?: readonly string[];
  /** Host wall clock (ms since the Unix epoch) and monotonic clock (ms) when the fix was complete. */
  readonly wallMs: number;
  readonly monoMs: number;
}

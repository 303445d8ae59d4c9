/**
 * A GNSS receiver as a source of samples: takes fixes from a `GnssSource` (serial NMEA or gpsd),
 * turns each into VSS samples and hands them to the sink, checks the wall clock against GNSS time,
 * and keeps counters: `gnss.fixes`, `gnss.no-fix`, `gnss.bad-input`, `gnss.disconnects`,
 * `gnss.clock-skew` (fixes whose time differs from the wall clock by more than maxClockSkewMs) and
 * the gauge `gnss.clock-skew-ms`. A receiver that goes away is logged, and its source reopens it.
 */

import type { Sample } from '../../chain/index.js';
import {
  connectTcp,
  type GnssFix,
  type GnssSource,
  type GnssSourceEvent,
  openGpsdClient,
  openNmeaSerial,
  openSerialPort,
} from '../../firmware-bridge/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import type { GnssSourceConfig } from '../config/index.js';
import { ClockSkewCheck, fixToSamples } from '../decode/gnss/index.js';

/**
 * Opens the configured receiver on a device: the serial port for `nmea`, TCP for `gpsd`. A receiver
 * that is not there yet does not stop the agent: the source keeps trying and says so in the log.
 */
export function openConfiguredGnss(cfg: GnssSourceConfig): Promise<GnssSource> {
  if (cfg.source === 'nmea')
    return openNmeaSerial({
      path: cfg.port!,
      baudRate: cfg.baud,
      openSerial: openSerialPort,
      retryFirstOpen: true,
    });
  const i = cfg.gpsd.lastIndexOf(':');
  return openGpsdClient({
    // `[::1]:2947` names an IPv6 host in brackets; the socket wants it without.
    host: cfg.gpsd.slice(0, i).replace(/^\[(.*)\]$/, '$1'),
    port: Number(cfg.gpsd.slice(i + 1)),
    connect: (t) => connectTcp(t),
    retryFirstOpen: true,
  });
}

export interface GnssPipelineOptions {
  readonly source: GnssSource;
  readonly maxClockSkewMs: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Receives the samples of one fix; the array is reused after the call returns. */
  readonly onSamples: (samples: readonly Sample[]) => void;
  /** Also write GNSS speed to Vehicle.Speed (no CAN or OBD source gives it). */
  readonly speedToVehicleSpeed?: boolean;
}

export const GNSS_COUNTERS = [
  'gnss.fixes',
  'gnss.no-fix',
  'gnss.bad-input',
  'gnss.disconnects',
  'gnss.clock-skew',
] as const;

export class GnssPipelineSource {
  readonly #scratch: Sample[] = [];
  readonly #unsubscribe: (() => void)[] = [];
  readonly #skew: ClockSkewCheck;

  readonly #o: GnssPipelineOptions;

  constructor(options: GnssPipelineOptions) {
    this.#o = options;
    this.#skew = new ClockSkewCheck(options.maxClockSkewMs);
  }

  /** Starts taking fixes. */
  start(): void {
    const { source, metrics } = this.#o;
    metrics.declare(...GNSS_COUNTERS, 'samples.out');
    this.#unsubscribe.push(source.onFix((f) => this.#onFix(f)));
    this.#unsubscribe.push(source.onEvent((e) => this.#onEvent(e)));
  }

  /** Stops taking fixes (the source itself is closed by its owner). */
  stop(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  #onFix(fix: GnssFix): void {
    const { metrics, logger } = this.#o;
    metrics.inc('gnss.fixes');
    if (fix.mode < 2) metrics.inc('gnss.no-fix');
    const v = this.#skew.check(fix);
    if (v.kind !== 'unchecked') metrics.set('gnss.clock-skew-ms', Math.round(v.skewMs));
    if (v.kind === 'skewed') {
      metrics.inc('gnss.clock-skew');
      if (v.started)
        logger.warn(
          {
            skewMs: Math.round(v.skewMs),
            maxClockSkewMs: this.#o.maxClockSkewMs,
            gnssTime: new Date(fix.timeMs!).toISOString(),
          },
          'wall clock differs from GNSS time',
        );
    } else if (v.kind === 'recovered')
      logger.info({ skewMs: Math.round(v.skewMs) }, 'wall clock agrees with GNSS time again');
    const out = this.#scratch;
    out.length = 0;
    fixToSamples(fix, out, { speedToVehicleSpeed: this.#o.speedToVehicleSpeed ?? false });
    metrics.inc('samples.out', out.length);
    this.#o.onSamples(out);
  }

  #onEvent(e: GnssSourceEvent): void {
    const { metrics, logger } = this.#o;
    switch (e.type) {
      case 'bad-input':
        metrics.inc('gnss.bad-input');
        logger.debug(
          typeof e.problem === 'string'
            ? { where: e.where }
            : { where: e.where, line: e.problem.line, column: e.problem.column },
          typeof e.problem === 'string' ? e.problem : e.problem.message,
        );
        return;
      case 'down':
        metrics.inc('gnss.disconnects');
        logger.warn({ where: e.where, reason: e.reason }, 'GNSS receiver went away; reopening');
        return;
      case 'retry-failed':
        logger.debug({ where: e.where, reason: e.reason, nextInMs: e.nextInMs }, 'GNSS receiver still away');
        return;
      case 'open':
        logger.info({ where: e.where }, 'GNSS receiver open');
        return;
      case 'info':
        logger.info({ where: e.where }, e.message);
    }
  }
}

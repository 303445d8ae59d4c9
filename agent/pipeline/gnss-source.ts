/**
 * A GNSS receiver as a source of samples: takes fixes from a `GnssSource` (serial NMEA or gpsd),
 * turns each into VSS samples and hands them to the sink, checks the wall clock against GNSS time,
 * and keeps counters: `gnss.fixes`, `gnss.no-fix`, `gnss.bad-input`, `gnss.disconnects`,
 * `gnss.clock-skew` (fixes whose time differs from the wall clock by more than maxClockSkewMs) and
 * the gauge `gnss.clock-skew-ms`. A receiver that goes away is logged, and its source reopens it.
 */

import type { Sample } from '../../chain/index.js';
import type { GnssFix, GnssSource, GnssSourceEvent } from '../../firmware-bridge/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import { ClockSkewCheck, fixToSamples } from '../decode/gnss/index.js';

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

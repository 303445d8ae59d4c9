/**
 * `GnssSource`: what the agent reads fixes from, whichever receiver the device has. The serial NMEA
 * source and the gpsd client implement it; both reopen or reconnect by themselves when their
 * device or daemon goes away and comes back, and report that as events.
 */
import type { GnssFix } from './fix.js';
import type { NmeaLineProblem } from './nmea-decoder.js';

/** Something that happened to a source, other than a fix. */
export type GnssSourceEvent =
  | { readonly type: 'open'; readonly where: string }
  | { readonly type: 'down'; readonly where: string; readonly reason: string }
  | {
      readonly type: 'retry-failed';
      readonly where: string;
      readonly reason: string;
      readonly nextInMs: number;
    }
  | { readonly type: 'bad-input'; readonly where: string; readonly problem: NmeaLineProblem | string }
  | { readonly type: 'info'; readonly where: string; readonly message: string };

/** Counters every source keeps. */
export interface GnssSourceStats {
  readonly fixes: number;
  /** Times the port or connection was (re)opened after the first. */
  readonly reopens: number;
  /** Times it went away. */
  readonly disconnects: number;
  /** Input rejected: bad sentences and checksums (NMEA), unparsable JSON (gpsd). */
  readonly badInput: number;
  /** Source-specific detail (NMEA decoder counters, gpsd message counts). */
  readonly detail: Readonly<Record<string, number>>;
}

export interface GnssSource {
  /** `nmea:/dev/ttyACM0` or `gpsd:localhost:2947`. */
  readonly name: string;
  /** Subscribes to fixes; returns the unsubscribe function. */
  onFix(listener: (fix: GnssFix) => void): () => void;
  onEvent(listener: (event: GnssSourceEvent) => void): () => void;
  stats(): GnssSourceStats;
  /** Stops reading and reconnecting, and closes the port or socket. Idempotent. */
  close(): Promise<void>;
}

/** Reconnect timing: the first wait, doubled per failure up to the last. */
export interface RetryOptions {
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /**
   * When the first open fails, resolve anyway and keep trying in the background (reported as
   * `retry-failed` events) instead of rejecting: an agent whose receiver is unplugged at boot keeps
   * its other sources running.
   */
  readonly retryFirstOpen?: boolean;
}

export type GnssSourceErrorCode = 'OPEN_FAILED' | 'CONNECT_FAILED';

/** Why a source could not start, with where it looked. */
export class GnssSourceError extends Error {
  constructor(
    readonly code: GnssSourceErrorCode,
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
    this.name = 'GnssSourceError';
  }
}

/** Listener sets shared by the sources. */
export class SourceListeners {
  readonly fix = new Set<(f: GnssFix) => void>();
  readonly event = new Set<(e: GnssSourceEvent) => void>();

  /** Subscribes to fixes; returns the unsubscribe function. */
  onFix(listener: (f: GnssFix) => void): () => void {
    this.fix.add(listener);
    return () => this.fix.delete(listener);
  }

  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: (e: GnssSourceEvent) => void): () => void {
    this.event.add(listener);
    return () => this.event.delete(listener);
  }

  emitFix(f: GnssFix): void {
    for (const l of this.fix) l(f);
  }

  emitEvent(e: GnssSourceEvent): void {
    for (const l of this.event) l(e);
  }
}

/** Calls `attempt` until it succeeds or `isClosed()`, waiting min..max ms (doubling) between tries. */
export class Backoff {
  #delayMs: number;
  #timer: NodeJS.Timeout | undefined;

  readonly #options: RetryOptions;

  constructor(options: RetryOptions) {
    this.#options = options;
    this.#delayMs = options.retryMinMs ?? 500;
  }

  /** Resets the wait after a success. */
  succeeded(): void {
    this.#delayMs = this.#options.retryMinMs ?? 500;
  }

  /** Schedules `run` after the current wait and doubles it; returns the wait used. */
  schedule(run: () => void): number {
    const wait = this.#delayMs;
    this.#delayMs = Math.min(this.#delayMs * 2, this.#options.retryMaxMs ?? 10_000);
    this.cancel();
    this.#timer = setTimeout(run, wait);
    return wait;
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

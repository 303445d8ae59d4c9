/**
 * A CAN bus as a source of samples: receives frames from a `CanBus`, decodes and maps them with a
 * `FrameMapper`, and hands each frame's samples to the sink. Sets the bus's kernel receive filters
 * to the ids the map needs, so unmapped traffic never wakes the process. Counts frames in, frames
 * the DBC does not know, wrong lengths and bus error frames in the agent's metrics.
 */

import type { Sample } from '../../chain/index.js';
import type { CanBus, CanBusEvent, CanFilter, CanFrame } from '../../firmware-bridge/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import type { FrameMapper } from '../decode/vss-map/index.js';

export interface CanSourceOptions {
  readonly bus: CanBus;
  readonly mapper: FrameMapper;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Receives the samples of one frame; the array is reused after the call returns. */
  readonly onSamples: (samples: readonly Sample[]) => void;
}

/** Exact-match filters for the ids the mapper needs (29-bit J1939 ids match on their PGN bits). */
export function filtersFor(ids: readonly { id: number; extended: boolean }[]): CanFilter[] {
  return ids.map(({ id, extended }) => ({ id, extended, mask: extended ? 0x1fffffff : 0x7ff }));
}

export class CanSource {
  readonly #scratch: Sample[] = [];
  readonly #unsubscribe: (() => void)[] = [];
  #lastUnknown = 0;
  #lastLength = 0;

  readonly #o: CanSourceOptions;

  constructor(options: CanSourceOptions) {
    this.#o = options;
  }

  /** Starts receiving. */
  start(): void {
    const { bus, mapper, metrics, logger } = this.#o;
    // J1939 messages are matched by PGN whatever their source address, so they cannot be filtered
    // by exact id; a DBC with any of them receives everything.
    const hasJ1939 = mapper.neededIds().length > 0 && this.#hasJ1939();
    bus.setFilters(hasJ1939 ? [] : filtersFor(mapper.neededIds()));
    metrics.declare('frames.in', 'frames.errors', 'frames.unknown', 'samples.out', 'can.error-frames');
    this.#unsubscribe.push(bus.onFrame((f) => this.#onFrame(f)));
    this.#unsubscribe.push(
      bus.onEvent((e: CanBusEvent) => {
        if (e.type === 'error') {
          metrics.inc('can.error-frames');
          logger.warn({ bus: e.bus, kinds: e.kinds }, 'CAN error frame');
        } else
          logger.warn(
            { bus: e.bus, event: e.type, ...(e.type === 'down' ? { reason: e.reason } : {}) },
            `CAN bus ${e.type}`,
          );
      }),
    );
  }

  #onFrame(frame: CanFrame): void {
    const { mapper, metrics } = this.#o;
    metrics.inc('frames.in');
    const out = this.#scratch;
    out.length = 0;
    mapper.map(frame, out);
    const st = mapper.stats;
    if (st.unknownId !== this.#lastUnknown) {
      metrics.inc('frames.unknown', st.unknownId - this.#lastUnknown);
      this.#lastUnknown = st.unknownId;
    }
    if (st.lengthMismatch !== this.#lastLength) {
      metrics.inc('frames.errors', st.lengthMismatch - this.#lastLength);
      this.#lastLength = st.lengthMismatch;
    }
    if (out.length > 0) {
      metrics.inc('samples.out', out.length);
      this.#o.onSamples(out);
    }
  }

  #hasJ1939(): boolean {
    return this.#o.mapper.neededIds().some((x) => x.extended && this.#o.mapper.isJ1939(x.id));
  }

  /** Stops receiving (the bus itself is closed by its owner). */
  stop(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
  }
}
